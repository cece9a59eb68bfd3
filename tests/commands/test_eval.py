"""`tokenmix eval` rebuilds the model its checkpoint stored, refuses a data set the model was not made for, and
turns every bad checkpoint or flag into one line and exit 2, before any evaluation."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

from ..helpers import write_zip_bomb
from ..train.util import in_process, last_line


def assert_one_line(code: int, out: str, err: str, *needles: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err and out == ""  # nothing was evaluated
    line = last_line(err)
    assert line.startswith("tokenmix eval: error: "), err
    for needle in needles:
        assert needle in line, line


def test_eval_uses_the_stored_input_size_and_matches_training(mixer28_run, grey28_npz, capsys):
    weights = mixer28_run / "model.safetensors"
    code, out, err = in_process(capsys, "eval", "mixer_digits", "--checkpoint", weights, "--data", "npz",
                                "--data-dir", grey28_npz)  # fmt: skip
    assert code == 0, err
    result, summary = json.loads(out), json.loads((mixer28_run / "summary.json").read_text())
    assert result["images"] == 12 and result["skipped"] == 0
    assert abs(result["top1"] - summary["final_top1"]) < 1e-9 and abs(result["loss"] - summary["final_loss"]) < 1e-5
    assert set(result["per_class_top1"]) == {"dark", "mid", "light"}


def test_output_naming_an_existing_file_is_refused_before_evaluating(digits_run, tmp_path, capsys):
    (tmp_path / "taken").write_text("keep me")
    code, out, err = in_process(capsys, "eval", "convmixer_digits", "--checkpoint", digits_run / "model.safetensors",
                                "--output", tmp_path / "taken")  # fmt: skip
    assert_one_line(code, out, err, "--output", "taken is an existing file")
    assert (tmp_path / "taken").read_text() == "keep me"


def test_data_with_other_classes_than_the_checkpoint_is_refused(mixer28_run, capsys):
    code, out, err = in_process(capsys, "eval", "mixer_digits", "--checkpoint", mixer28_run / "model.safetensors")
    assert_one_line(code, out, err, "is a model for 3 classes; digits has 10")


def legacy_pickle(tmp_path, weights):
    torch.save(load_file(weights), tmp_path / "legacy.pth", _use_new_zipfile_serialization=False)
    return tmp_path / "legacy.pth"


def zip_bomb(tmp_path, weights):
    return write_zip_bomb(tmp_path / "bomb.pth", inflated=64 << 20)


def bad_metadata(tmp_path, weights):
    save_file(load_file(weights), tmp_path / "meta.safetensors", metadata={"config": "{", "format": "pt"})
    return tmp_path / "meta.safetensors"


def int8_weights(tmp_path, weights):
    tensors = load_file(weights)
    tensors["head.fc.weight"] = tensors["head.fc.weight"].to(torch.int8)
    save_file(tensors, tmp_path / "int8.safetensors")
    return tmp_path / "int8.safetensors"


def foreign(tmp_path, weights):
    tensors = {f"layer{i}.conv.weight": torch.zeros(3) for i in range(10)}
    torch.save({**tensors, "head.fc.bias": torch.zeros(10)}, tmp_path / "foreign.pth")
    return tmp_path / "foreign.pth"


def empty(tmp_path, weights):
    (tmp_path / "empty.pth").write_bytes(b"")
    return tmp_path / "empty.pth"


@pytest.mark.parametrize(
    "make, needles",
    [
        (empty, ["empty.pth is not a readable PyTorch file", "got an empty file"]),
        (legacy_pickle, ["legacy.pth is not a readable PyTorch file", "legacy pickles are not read"]),
        (zip_bomb, ["bomb.pth declares 64.", "refusing to read it"]),
        (bad_metadata, ["metadata field 'config' is not JSON"]),
        (int8_weights, ["tensor 'head.fc.weight' is int8, the model expects floating point"]),
        (foreign, ["keys are in none of the known formats", "1 of the model's"]),
    ],
    ids=lambda v: getattr(v, "__name__", ""),
)
def test_bad_checkpoint_is_one_line_and_exit_2(digits_run, tmp_path, capsys, make, needles):
    path = make(tmp_path, digits_run / "model.safetensors")
    code, out, err = in_process(capsys, "eval", "convmixer_digits", "--checkpoint", path)
    assert_one_line(code, out, err, *needles)
    assert "weights_only" not in err


def test_corrupt_evaluation_image_is_left_out_and_counted(tmp_path, capsys):
    import tokenmix

    for split in ("train", "val"):
        for label, name in enumerate(("a", "b")):
            (tmp_path / split / name).mkdir(parents=True)
            for i in range(3):
                Image.fromarray(np.full((8, 8, 3), 40 + 150 * label, np.uint8)).save(
                    tmp_path / split / name / f"{i}.png"
                )
    (tmp_path / "val" / "a" / "0.png").write_bytes(b"broken")
    tokenmix.save_weights(
        tokenmix.create_model("convmixer_digits", in_chans=3, num_classes=2), tmp_path / "w.safetensors"
    )
    code, out, err = in_process(capsys, "eval", "convmixer_digits", "--checkpoint", tmp_path / "w.safetensors",
                                "--data", "imagefolder", "--data-dir", tmp_path, "--img-size", "8")  # fmt: skip
    assert code == 0, err
    result = json.loads(out)
    assert result["images"] == 5 and result["skipped"] == 1 and sum(map(sum, result["confusion"])) == 5
    assert "left out 1 unreadable image(s)" in err and "0.png" in err


def test_a_stray_label_beyond_the_stated_classes_is_refused(digits_run, tmp_path, capsys):
    x = np.zeros((4, 8, 8), np.uint8)
    y = np.array([0, 1, 2, 255])
    np.savez(
        tmp_path / "d.npz", x_train=x, y_train=y, x_test=x, y_test=y, classes=np.array([str(i) for i in range(10)])
    )
    code, out, err = in_process(capsys, "eval", "convmixer_digits", "--checkpoint", digits_run / "model.safetensors",
                                "--data", "npz", "--data-dir", tmp_path / "d.npz")  # fmt: skip
    assert_one_line(code, out, err, "y_train[3] is label 255, but the data set states 10 classes")
