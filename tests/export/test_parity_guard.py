"""The parity check does not call equal constant logits a pass: an untrained Mixer (zero-initialised
classifier) gives 0 for every input, so eager and any graph "agree" exactly."""

from __future__ import annotations

import torch

import tokenmix
from tokenmix.export import check_parity, export_model
from tokenmix.export.formats import example_input

from ..train.util import in_process


def test_zero_initialised_classifier_is_inconclusive_not_ok(tmp_path) -> None:
    model = tokenmix.create_model("mixer_digits").eval()
    assert torch.count_nonzero(model.head.fc.weight) == 0  # the premise: timm's Mixer init
    example = example_input(model)
    path = export_model(model, "onnx", tmp_path / "m.onnx", example, exporter="torchscript")
    report = check_parity(model, "onnx", path, example)
    assert report.max_rel_diff == 0.0 and report.matches
    assert not report.ok and "INCONCLUSIVE" in str(report)


def test_export_command_checks_a_random_copy_when_logits_are_constant(tmp_path, capsys) -> None:
    tokenmix.save_weights(tokenmix.create_model("mixer_digits"), tmp_path / "w.safetensors")
    code, stdout, err = in_process(capsys, "export", "mixer_digits", "--checkpoint", tmp_path / "w.safetensors",
                                   "--exporter", "torchscript", "--out", tmp_path / "m.onnx")  # fmt: skip
    assert code == 0, err
    assert "parity INCONCLUSIVE" in stdout
    assert "with random weights, exported the same way: parity OK" in stdout


def test_int8_agreement_of_an_untrained_mixer_is_not_a_pass(tmp_path, capsys) -> None:
    """Constant logits have the same argmax in fp32 and int8: 100 % "agreement" that must not count."""
    tokenmix.save_weights(tokenmix.create_model("mixer_digits"), tmp_path / "w.safetensors")
    code, stdout, err = in_process(capsys, "export", "mixer_digits", "--checkpoint", tmp_path / "w.safetensors",
                                   "--exporter", "torchscript", "--quantize", "int8", "--data", "digits",
                                   "--out", tmp_path / "m.onnx")  # fmt: skip
    assert code == 1, err
    assert "int8 top-1 agreement INCONCLUSIVE" in stdout
