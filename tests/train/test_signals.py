"""SIGINT (Ctrl-C) and SIGTERM (torchrun, Slurm, Kubernetes) sent to a real training process: it finishes the
step it is in, writes a checkpoint, names it and exits 130 / 143; resumed, it ends with the same weights, bit
for bit, as a run that was never interrupted. A second signal ends it at once."""

from __future__ import annotations

import re
import signal
from pathlib import Path

import pytest
import torch

from .util import popen, tokenmix, wait_for_line, weights

SETTINGS = ["drop_path=0.1", "ema=true", "mixup=0.2", "smoothing=0.1"]
ARGS = ("train", "--model", "convmixer_digits", "--epochs", "3", *(a for s in SETTINGS for a in ("--set", s)))


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("reference") / "run"
    done = tokenmix(*ARGS, "--output", run)
    assert done.returncode == 0, done.stderr
    return run


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_writes_a_checkpoint_and_the_resumed_run_is_bit_identical(reference, tmp_path, sig, code):
    run = tmp_path / "run"
    victim = popen(*ARGS, "--output", run)
    wait_for_line(victim, victim.stdout, "epoch   1/3")  # in epoch 2, past the epoch-end checkpoint of step 22
    victim.send_signal(sig)
    _, err = victim.communicate(timeout=120)
    assert victim.returncode == code, err
    said = re.search(rf"{sig.name} received: stopped after step (\d+); checkpoint in (\S+);", err)
    assert said, err
    step, ckpt = int(said[1]), Path(said[2])
    assert ckpt == run / "checkpoints" / f"step-{step:08d}" and (ckpt / "state.json").is_file()
    assert step >= 22 and not (run / "model.safetensors").exists()

    resumed = tokenmix(*ARGS, "--output", run, "--resume", "auto")
    assert resumed.returncode == 0, resumed.stderr
    assert f"resumed from {ckpt} at step {step}" in resumed.stdout
    for name in ("model.safetensors", "ema.safetensors"):
        ours, theirs = weights(run / name), weights(reference / name)
        assert ours.keys() == theirs.keys()
        for key in ours:
            assert torch.equal(ours[key], theirs[key]), f"{name}:{key} differs after a {sig.name} at step {step}"


def test_a_second_signal_ends_the_run_at_once(tmp_path):
    # one step per epoch of all 1437 images: a step lasts long enough for the second signal to land inside it
    victim = popen("train", "--epochs", "50", "--batch-size", "1437", "--output", tmp_path / "run")
    wait_for_line(victim, victim.stdout, "epoch   1/50")
    victim.send_signal(signal.SIGTERM)
    wait_for_line(victim, victim.stderr, "tokenmix train: SIGTERM: stopping after this step")
    victim.send_signal(signal.SIGTERM)
    victim.communicate(timeout=60)
    assert victim.returncode == -signal.SIGTERM  # killed by the signal itself, not the graceful 143
