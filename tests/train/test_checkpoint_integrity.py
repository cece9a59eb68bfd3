"""Every checkpoint on disk is one a run can continue from: none holds NaN/Inf (weights, BatchNorm running
statistics, optimizer moments), and a write that fails on a full or read-only disk is one line naming the
folder and the cause, with its temp folder removed and the previous checkpoint untouched."""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tokenmix.train import checkpoints
from tokenmix.train.state import CheckpointInfo, RunState

from .test_bad_inputs import assert_one_line_error
from .util import tokenmix


def all_finite(ckpt: Path) -> bool:
    tensors = {f.name: load_file(str(f)) for f in ckpt.glob("*.safetensors")}
    tensors["state"] = torch.load(ckpt / "state.pt", weights_only=True)
    return checkpoints.first_non_finite(tensors) is None


def test_a_diverging_batchnorm_run_keeps_only_finite_checkpoints(tmp_path):
    run = tmp_path / "run"  # convmixer_digits: BatchNorm, whose running_var overflows before the loss does
    done = tokenmix("train", "--lr", "1e6", "--set", "checkpoint_every=1", "--set", "warmup_epochs=0", "--output", run)
    assert_one_line_error(done.returncode, done.stderr, 3, "non-finite")
    named = re.search(r"the last good checkpoint is (\S+)", done.stderr)
    saved = sorted((run / "checkpoints").glob("step-*"))
    assert all(all_finite(c) for c in saved)
    if named:
        assert Path(named[1]) == saved[-1]
    else:
        assert "no checkpoint was written yet" in done.stderr and not saved


def test_first_non_finite_finds_a_batchnorm_statistic():
    bn = torch.nn.BatchNorm2d(4)
    bn.running_var[2] = float("inf")
    assert checkpoints.first_non_finite({"model": bn.state_dict()}) == "model.running_var"
    assert checkpoints.first_non_finite({"optimizer": {"state": {0: {"exp_avg": torch.tensor([float("nan")])}}}})


def save(root: Path, step: int) -> Path:
    info = CheckpointInfo(RunState(step=step), 10, 1, {})
    weights = {"model": {"w": torch.full((1000,), float(step))}}
    return checkpoints.save_checkpoint(root, step, weights, {}, {"optimizer": {}}, info.to_dict(), keep=2)


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS])
def test_a_failed_checkpoint_write_is_one_line_and_leaves_the_previous_intact(tmp_path, monkeypatch, code):
    root = tmp_path / "checkpoints"
    previous = save(root, 1)
    before = {f.name: f.read_bytes() for f in previous.iterdir()}

    def full_disk(obj, path, *args, **kwargs):  # half a file, then the disk is full (or read-only)
        Path(path).write_bytes(b"\0" * 100)
        raise OSError(code, "mocked")

    monkeypatch.setattr(checkpoints.torch, "save", full_disk)
    with pytest.raises(checkpoints.WriteError) as caught:
        save(root, 2)
    assert str(caught.value) == f"cannot write step-00000002 in {root}: {os.strerror(code)} ({errno.errorcode[code]})"
    assert sorted(p.name for p in root.iterdir()) == ["step-00000001"]  # no temp folder left
    assert {f.name: f.read_bytes() for f in previous.iterdir()} == before


def test_torch_reporting_a_full_disk_without_errno_is_named(tmp_path, monkeypatch):
    root = tmp_path / "checkpoints"
    save(root, 1)

    def iostream_error(*args, **kwargs):
        raise RuntimeError("[enforce fail at inline_container.cc:626] . unexpected pos 64 vs 0\nbasic_ios::clear")

    monkeypatch.setattr(checkpoints.torch, "save", iostream_error)
    monkeypatch.setattr(checkpoints, "_probe_write", lambda folder: OSError(errno.ENOSPC, "full"))
    with pytest.raises(checkpoints.WriteError, match=r"No space left on device \(ENOSPC\)"):
        save(root, 2)
    assert sorted(p.name for p in root.iterdir()) == ["step-00000001"]
