"""Where one training step of a tokenmix model spends its time on this CPU, by operator (torch.profiler).

    PYTHONPATH=src python bench/step_profile.py [--model convmixer_256_8_p4_cifar] [--batch 128] [--threads 2]
        [--fp32] [--nchw] [--steps 3] [--rows 12]

The step is bench/train_speed.py's "ours" (bf16 autocast, the model's memory-format rule, fused AdamW) unless
--fp32 / --nchw say otherwise. Prints the images/s of 5 unprofiled steps, the CPU model, then the operators by
self time over --steps profiled steps, with each one's share of the step.
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile
from train_speed import step_fn  # bench/ is on sys.path when this script runs

import tokenmix
from tokenmix.train.runtime import memory_format


def cpu_name() -> str:
    info = Path("/proc/cpuinfo")
    if info.is_file():
        for line in info.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="convmixer_256_8_p4_cifar")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--fp32", action="store_true", help="no bf16 autocast")
    parser.add_argument("--nchw", action="store_true", help="NCHW whatever the model's memory-format rule says")
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--rows", type=int, default=12)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = tokenmix.create_model(args.model).train()
    fmt = torch.contiguous_format if args.nchw else memory_format("auto", model, torch.device("cpu"))
    step = step_fn(model, bf16=not args.fp32, fmt=fmt, fused=True)
    x = torch.randn(args.batch, *model.default_cfg["input_size"])
    y = torch.randint(0, model.default_cfg["num_classes"], (args.batch,))
    for _ in range(2):
        step(x, y)
    t0 = time.perf_counter()
    for _ in range(5):
        step(x, y)
    rate = 5 * args.batch / (time.perf_counter() - t0)
    layout = "NCHW" if fmt == torch.contiguous_format else "channels_last"
    print(f"{args.model}, batch {args.batch}, {'fp32' if args.fp32 else 'bf16 autocast'}, {layout}, "
          f"{args.threads} threads, {cpu_name()}: {rate:.0f} img/s")  # fmt: skip
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(args.steps):
            step(x, y)
    events = sorted(prof.key_averages(), key=lambda e: e.self_cpu_time_total, reverse=True)
    total = sum(e.self_cpu_time_total for e in events)
    print(f"{'operator':<44}{'ms/step':>9}{'share':>8}{'calls/step':>12}")
    for e in events[: args.rows]:
        ms = e.self_cpu_time_total / 1000 / args.steps
        print(f"{e.key[:43]:<44}{ms:>9.1f}{e.self_cpu_time_total / total:>8.1%}{e.count / args.steps:>12.0f}")


if __name__ == "__main__":
    main()
