"""A pickle whose __reduce__ would create a marker file is refused by --resume and eval --checkpoint, and its
code never runs: checkpoints are opened with torch.load(weights_only=True) (or as safetensors), even when
TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD asks torch to unpickle everything."""

from __future__ import annotations

import shutil

import pytest
import torch

from .util import in_process, last_line, tokenmix


class Payload:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):  # unpickling calls open(marker, "w"): the file appears iff the code ran
        return (open, (self.marker, "w"))


def evil_pickle(path, marker):
    torch.save({"optimizer": Payload(marker), "state_dict": {"w": torch.zeros(1)}}, path)
    return path


FORCE = [{}, {"TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD": "1"}]


@pytest.mark.parametrize("force", FORCE, ids=["default", "force_no_weights_only"])
def test_eval_refuses_a_malicious_pickle_checkpoint(tmp_path, monkeypatch, capsys, force):
    for key, value in force.items():
        monkeypatch.setenv(key, value)
    marker = tmp_path / "pwned"
    ckpt = evil_pickle(tmp_path / "evil.pth", marker)
    code, _, err = in_process(capsys, "eval", "mixer_digits", "--checkpoint", ckpt)
    assert code == 2, err
    assert "refusing to unpickle" in last_line(err) and "Traceback" not in err
    assert not marker.exists()


def tampered_copy(finished_run, tmp_path, name: str, marker) -> object:
    ckpt = sorted((finished_run / "checkpoints").glob("step-*"))[-1]
    copy = tmp_path / "run" / "checkpoints" / ckpt.name
    shutil.copytree(ckpt, copy)
    evil_pickle(copy / name, marker)
    return copy


@pytest.mark.parametrize("force", FORCE, ids=["default", "force_no_weights_only"])
def test_resume_refuses_a_malicious_optimizer_state(tmp_path, finished_run, monkeypatch, capsys, force):
    for key, value in force.items():
        monkeypatch.setenv(key, value)
    marker = tmp_path / "pwned"
    code, _, err = in_process(capsys, "train", "--resume", tampered_copy(finished_run, tmp_path, "state.pt", marker))
    assert code == 2, err
    assert "refusing to unpickle" in last_line(err), err
    assert not marker.exists()


def test_resume_refuses_a_pickle_in_place_of_the_weights(tmp_path, finished_run):
    marker = tmp_path / "pwned"
    copy = tampered_copy(finished_run, tmp_path, "model.safetensors", marker)
    done = tokenmix("train", "--resume", copy, TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD="1")
    assert done.returncode == 2, done.stderr
    assert "refusing to unpickle" in last_line(done.stderr), done.stderr
    assert not marker.exists()


def test_resume_refuses_a_bare_pickle_file(tmp_path, capsys):
    marker = tmp_path / "pwned"
    code, _, err = in_process(capsys, "train", "--resume", evil_pickle(tmp_path / "evil.pt", marker))
    assert code == 2 and "expected a checkpoint directory" in last_line(err)
    assert not marker.exists()
