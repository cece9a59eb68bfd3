"""A run killed with SIGKILL at a random step and resumed with --resume auto ends with the same weights, bit
for bit, as a run that was never interrupted (CPU, deterministic mode). Drop path, EMA,
Mixup/CutMix and label smoothing are on, so the saved RNG state, the EMA file and the counter-seeded mixing
matter too."""

from __future__ import annotations

import random
import signal
import time

import torch

from .util import popen, tokenmix, weights

SETTINGS = ["drop_path=0.1", "ema=true", "mixup=0.2", "cutmix=0.5", "smoothing=0.1", "checkpoint_every=3"]
ARGS = ("train", "--model", "convmixer_digits", "--epochs", "3", *(a for s in SETTINGS for a in ("--set", s)))


def newest_step(run) -> int:
    steps = [int(p.name.split("-")[1]) for p in (run / "checkpoints").glob("step-*")]
    return max(steps, default=0)


def test_sigkill_at_a_random_step_then_resume_is_bit_identical(tmp_path):
    reference = popen(*ARGS, "--output", tmp_path / "reference")  # in parallel with the killed run
    killed_dir = tmp_path / "killed"
    victim = popen(*ARGS, "--output", killed_dir)
    target = random.Random().randint(4, 50)  # 66 steps in all; any step, including during a save
    deadline = time.time() + 120
    while newest_step(killed_dir) < target and victim.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    time.sleep(random.random() * 0.3)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert victim.returncode == -signal.SIGKILL, f"the run ended before the kill: {victim.stderr.read()}"
    assert not (killed_dir / "model.safetensors").exists()

    resumed = tokenmix(*ARGS, "--output", killed_dir, "--resume", "auto")
    assert resumed.returncode == 0, resumed.stderr
    assert "resumed from" in resumed.stdout
    assert reference.wait(timeout=180) == 0, reference.stderr.read()

    for name in ("model.safetensors", "ema.safetensors"):
        ours, theirs = weights(killed_dir / name), weights(tmp_path / "reference" / name)
        assert ours.keys() == theirs.keys()
        for key in ours:
            assert torch.equal(ours[key], theirs[key]), f"{name}:{key} differs after resume (killed near step {target})"
    assert (killed_dir / "metrics.csv").read_text().splitlines()[1:] != []
