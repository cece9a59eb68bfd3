"""A checkpoint edited by hand or by a broken tool: each damaged field of state.json, a tensor of the wrong
shape and a state.pt without its optimizer are one line naming the file and what is wrong, exit 2."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file, save_file

from .test_bad_inputs import assert_one_line_error
from .util import in_process, tokenmix


def checkpoint_copy(finished_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    (ckpt,) = (run / "checkpoints").glob("step-*")
    return run, ckpt


@pytest.mark.parametrize(
    "edit, needles",
    [
        (lambda info: [], ["expected a JSON object, got list"]),
        (lambda info: None, ["expected a JSON object, got NoneType"]),
        (lambda info: {**info, "step": "abc"}, ["step must be int, got 'abc'"]),
        (lambda info: {**info, "step": True}, ["step must be int, got True"]),
        (lambda info: {**info, "step": -4}, ["step must be >= 0"]),
        (lambda info: {**info, "history": 5}, ["history must be list, got 5"]),
        (lambda info: {**info, "history": [1]}, ["history must be a list of objects"]),
        (lambda info: {**info, "epoch_sums": [1]}, ["epoch_sums must be 3 numbers"]),
        (lambda info: {**info, "best_top1": "high"}, ["best_top1 must be int or float or null"]),
        (lambda info: {k: v for k, v in info.items() if k != "train_time"}, ["the field 'train_time' is missing"]),
        (lambda info: {k: v for k, v in info.items() if k != "world"}, ["the field 'world' is missing"]),
        (lambda info: {**info, "config": "x"}, ["config must be dict"]),
        (lambda info: {**info, "config": {**info["config"], "lr": "fast"}}, ["not valid", "lr: expected float"]),
    ],
)
def test_tampered_state_json_is_one_line(finished_run, tmp_path, capsys, edit, needles):
    run, ckpt = checkpoint_copy(finished_run, tmp_path)
    path = ckpt / "state.json"
    path.write_text(json.dumps(edit(json.loads(path.read_text()))))
    code, _, err = in_process(capsys, "train", "--output", run, "--resume", "auto")
    assert_one_line_error(code, err, 2, str(path), *needles)


def test_state_json_that_is_not_json_is_one_line(finished_run, tmp_path, capsys):
    run, ckpt = checkpoint_copy(finished_run, tmp_path)
    (ckpt / "state.json").write_bytes(b"\xff\xfe")
    code, _, err = in_process(capsys, "train", "--output", run, "--resume", "auto")
    assert_one_line_error(code, err, 2, str(ckpt / "state.json"), "unreadable")


def test_wrong_shape_tensor_and_missing_optimizer_are_one_line(finished_run, tmp_path):
    run, ckpt = checkpoint_copy(finished_run, tmp_path)
    path = ckpt / "model.safetensors"
    tensors = load_file(str(path))
    key = next(iter(tensors))
    tensors[key] = torch.zeros(3, 3)
    save_file(tensors, str(path))
    done = tokenmix("train", "--model", "mixer_digits", "--epochs", "1", "--output", run, "--resume", "auto")
    assert_one_line_error(done.returncode, done.stderr, 2, str(path), key)

    run, ckpt = checkpoint_copy(finished_run, tmp_path / "second")
    state = torch.load(ckpt / "state.pt", weights_only=True)
    del state["optimizer"]
    torch.save(state, ckpt / "state.pt")
    done = tokenmix("train", "--model", "mixer_digits", "--epochs", "1", "--output", run, "--resume", "auto")
    assert_one_line_error(done.returncode, done.stderr, 2, str(ckpt / "state.pt"), "no 'optimizer' entry")
