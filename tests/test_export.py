"""tokenmix export: the artifact computes the eager model's logits at batch sizes other than the example's."""

from __future__ import annotations

import pytest
import torch

import tokenmix
from tokenmix.cli import main
from tokenmix.export import check_parity, export_model
from tokenmix.export.formats import example_input

from .helpers import randomize_

# One model per family, the cheapest of each; models that take any size run at 64 px.
FAMILY_MODELS = {
    "mixer": ("mixer_s32_224", None),
    "resmlp": ("resmlp_12_224", None),
    "gmlp": ("gmlp_ti16_224", None),
    "poolformer": ("poolformerv2_s12", 64),
    "convmixer": ("convmixer_1024_20_ks9_p14", 64),
    "vit": ("deit_tiny_patch16_224", None),
}


def small_model(name: str, img_size: int | None) -> tokenmix.MetaFormer:
    options = {} if img_size is None else {"img_size": img_size}
    return randomize_(tokenmix.create_model(name, **options)).eval()


@pytest.mark.parametrize("family", FAMILY_MODELS)
def test_onnx_export_of_deployed_model_matches_eager_in_onnxruntime(family: str, tmp_path) -> None:
    """Exported deployed, compared with the *un-deployed* eager model: export and fusion checked together."""
    name, size = FAMILY_MODELS[family]
    model = small_model(name, size)
    reference = small_model(name, size)
    reference.load_state_dict(model.state_dict())
    tokenmix.deploy(model, channels_last=False)
    example = example_input(model, batch=2)
    path = export_model(model, "onnx", tmp_path / "m.onnx", example, exporter="torchscript")
    report = check_parity(reference, "onnx", path, example, batches=(1, 3))
    assert report.ok, report


@pytest.mark.parametrize("fmt", ["onnx", "torchscript", "exported-program"])
def test_export_command_writes_and_checks_each_format(fmt: str, tmp_path, capsys) -> None:
    model = small_model("poolformerv2_s12", 32)
    tokenmix.save_weights(model, tmp_path / "w.safetensors")
    out = tmp_path / "model.out"
    args = ["export", "poolformerv2_s12", "--checkpoint", str(tmp_path / "w.safetensors"), "--format", fmt]
    assert main([*args, "--deploy", "--img-size", "32", "--out", str(out)]) == 0
    assert out.exists()
    assert "parity OK" in capsys.readouterr().out


def test_parity_check_catches_a_wrong_artifact(tmp_path) -> None:
    model, other = small_model("poolformerv2_s12", 32), small_model("poolformerv2_s12", 32)
    with torch.no_grad():
        other.head.fc.bias.add_(1.0)
    example = example_input(model, batch=2)
    path = export_model(other, "torchscript", tmp_path / "m.pt", example)
    assert not check_parity(model, "torchscript", path, example).ok
