"""SIGINT / SIGTERM sent to a real train-lm process: it finishes the step it is in, writes a checkpoint there (no
periodic checkpoint is due, so the file can only come from the signal), names it and the command that continues
it, exits 130 / 143, and the resumed run ends with the same weights, bit for bit, as one never interrupted."""

from __future__ import annotations

import re
import signal
from pathlib import Path

import pytest
import torch

from ..train.util import popen, tokenmix, wait_for_line, weights
from .corpus import words


def args(data: Path, out: Path) -> tuple[str, ...]:
    return ("train-lm", "--data", data, "--model", "gmlp_lm_nano", "--objective", "causal", "--context", "16",
            "--batch-size", "4", "--steps", "400", "--threads", "1", "--output", out, "--set", "log_every=10",
            "--set", "checkpoint_every=0", "--set", "eval_every=100", "--set", "eval_batch_size=64")  # fmt: skip


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return words(tmp_path_factory.mktemp("corpus") / "words.txt")


@pytest.fixture(scope="module")
def reference(corpus, tmp_path_factory) -> Path:
    run = tmp_path_factory.mktemp("reference") / "run"
    done = tokenmix(*args(corpus, run))
    assert done.returncode == 0, done.stderr
    return run


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_checkpoints_the_step_and_the_resumed_run_is_bit_identical(corpus, reference, tmp_path, sig, code):
    run = tmp_path / "run"
    victim = popen(*args(corpus, run))
    wait_for_line(victim, victim.stdout, "step     20/400")
    victim.send_signal(sig)
    _, err = victim.communicate(timeout=120)
    assert victim.returncode == code, err
    said = re.search(rf"{sig.name} received: stopped after step (\d+); checkpoint in (\S+); continue with: "
                     rf"tokenmix train-lm --output {re.escape(str(run))} --resume auto", err)  # fmt: skip
    assert said, err
    step, ckpt = int(said[1]), Path(said[2])
    assert 20 <= step < 400 and ckpt == run / "checkpoints" / f"step-{step:08d}"
    assert [p.name for p in (run / "checkpoints").glob("step-*")] == [ckpt.name]
    assert not (run / "model.safetensors").exists()

    resumed = tokenmix(*args(corpus, run), "--resume", "auto")
    assert resumed.returncode == 0, resumed.stderr
    assert f"resumed from {ckpt} at step {step}" in resumed.stdout
    ours, theirs = weights(run / "model.safetensors"), weights(reference / "model.safetensors")
    assert ours.keys() == theirs.keys()
    for key in ours:
        assert torch.equal(ours[key], theirs[key]), f"{key} differs after a {sig.name} at step {step}"
