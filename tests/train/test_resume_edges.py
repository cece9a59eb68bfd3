"""Resume at the edges: a finished run resumed does no more training; a resumed run refuses a config change
that would alter the computation; --resume auto without a checkpoint starts from scratch."""

from __future__ import annotations

import shutil

import torch

from .util import in_process, last_line, tokenmix, weights


def test_resuming_a_finished_run_trains_no_further(finished_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(finished_run, run)
    before = weights(run / "model.safetensors")
    done = tokenmix("train", "--output", run, "--resume", "auto")
    assert done.returncode == 0, done.stderr
    assert "resumed from" in done.stdout and "epoch " not in done.stdout.split("resumed from")[1].split("\n", 1)[1]
    after = weights(run / "model.safetensors")
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_resume_refuses_a_changed_learning_rate(finished_run, capsys):
    code, _, err = in_process(capsys, "train", "--resume", finished_run, "--lr", "0.5")
    assert code == 2
    assert "lr=0.5 differs from the checkpoint's" in last_line(err)


def test_resume_auto_needs_an_output_directory(capsys):
    code, _, err = in_process(capsys, "train", "--resume", "auto")
    assert code == 2 and "--resume auto needs --output" in last_line(err)
