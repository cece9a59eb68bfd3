"""`torchrun --nproc_per_node 2` (gloo, CPU) trains the same model as one process with the same global batch:
each rank takes its half of every global batch (same augmentation), DDP averages the gradients. A LayerNorm
model without dropout, drop path or mixup, so only float summation order differs (~1e-7).

SGD, not AdamW: the two runs differ by ~1e-13 after one step either way, but Adam divides by sqrt(v), which
amplifies rounding differences on tiny gradients exponentially (measured: 1e-6 after 5 AdamW steps, 5e-4 after
22), while SGD keeps them at ~6e-8 after 44 steps. The claim tested is the data/gradient equivalence.
The single process accumulates two micro-batches of 32, which adds the same two partial gradients that the
all-reduce adds (measured: bit-identical), so gradient accumulation is checked by the same bound."""

from __future__ import annotations

import subprocess
import sys

from .util import env, tokenmix, weights

ARGS = (
    "train",
    "--model",
    "mixer_digits",
    "--epochs",
    "2",
    "--batch-size",
    "64",
    "--set",
    "crop_padding=1",
    "--opt",
    "sgd",
    "--lr",
    "0.05",
)


def test_two_gloo_processes_match_one_process(tmp_path):
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node",
        "2",
        "-m",
        "tokenmix",
        *ARGS,
        "--output",
        str(tmp_path / "ddp"),
    ]
    ddp = subprocess.Popen(cmd, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    single = tokenmix(*ARGS, "--set", "grad_accum=2", "--output", tmp_path / "single")
    out, err = ddp.communicate(timeout=240)
    assert single.returncode == 0, single.stderr
    assert ddp.returncode == 0, err[-3000:]
    assert "on 2 × cpu" in out
    ours, theirs = (
        weights(tmp_path / "ddp" / "model.safetensors"),
        weights(tmp_path / "single" / "model.safetensors"),
    )
    worst = max((ours[k] - theirs[k]).abs().max().item() for k in ours)
    print(f"DDP 2 vs 1 process: max |dw| = {worst:.2e}")
    assert worst < 1e-5
