"""A train-lm run killed with SIGKILL at a random step and resumed with --resume auto ends with the same
weights, bit for bit, and the same validation curve as a run that was never interrupted (CPU, deterministic
mode). Masked LM with aMLP, so the (seed, step)-drawn masks and the tiny attention are both exercised."""

from __future__ import annotations

import csv
import random
import signal
import time

import torch

from ..train.util import popen, tokenmix, weights
from .corpus import words


def args(data, out):
    return ("train-lm", "--data", data, "--model", "amlp_lm_nano", "--objective", "mlm", "--context", "16",
            "--batch-size", "4", "--steps", "240", "--threads", "1", "--output", out,
            "--set", "checkpoint_every=4", "--set", "eval_every=40", "--set", "eval_batch_size=64")  # fmt: skip


def newest_step(run) -> int:
    return max((int(p.name.split("-")[1]) for p in (run / "checkpoints").glob("step-*")), default=0)


def val_losses(run) -> list[str]:
    with open(run / "metrics.csv") as f:
        return [row["val_loss"] for row in csv.DictReader(f)]


def test_sigkill_at_a_random_step_then_resume_is_bit_identical(tmp_path):
    data = words(tmp_path / "words.txt")
    reference = popen(*args(data, tmp_path / "reference"))
    killed = tmp_path / "killed"
    victim = popen(*args(data, killed))
    target = random.Random().randint(8, 160)
    deadline = time.time() + 200
    while newest_step(killed) < target and victim.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    time.sleep(random.random() * 0.05)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert victim.returncode == -signal.SIGKILL, f"the run ended before the kill: {victim.stderr.read()}"
    assert not (killed / "model.safetensors").exists()

    resumed = tokenmix(*args(data, killed), "--resume", "auto")
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed from" in resumed.stdout
    assert reference.wait(timeout=240) == 0, reference.stderr.read()
    ours, theirs = weights(killed / "model.safetensors"), weights(tmp_path / "reference" / "model.safetensors")
    assert ours.keys() == theirs.keys()
    for key in ours:
        assert torch.equal(ours[key], theirs[key]), f"{key} differs after resume (killed near step {target})"
    assert val_losses(killed) == val_losses(tmp_path / "reference") and len(val_losses(killed)) == 6
