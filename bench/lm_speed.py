"""Training throughput (tokens/s) of the three language-model families at one size, timed interleaved in one
process so machine load hits all alike; each family's speed is also given relative to the Transformer of the
same round (median [min-max] of the per-round ratios).

    PYTHONPATH=src python bench/lm_speed.py [--size tiny] [--batch 12] [--context 64] [--steps 5] [--rounds 5]

A step is the train-lm step: forward, cross-entropy over every position (causal), backward, AdamW.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from tokenmix.lm import create_lm
from tokenmix.lm.trainer import lm_loss

FAMILIES = ("transformer", "gmlp", "amlp")


def step_time(model, optimizer, tokens: torch.Tensor, steps: int) -> float:
    t0 = time.perf_counter()
    for _ in range(steps):
        loss, _ = lm_loss(model(tokens[:, :-1]), tokens[:, 1:])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    return (time.perf_counter() - t0) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="tiny")
    parser.add_argument("--batch", type=int, default=12)
    parser.add_argument("--context", type=int, default=64)
    parser.add_argument("--vocab", type=int, default=66)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    tokens = torch.randint(args.vocab, (args.batch, args.context + 1))
    runs = {}
    for family in FAMILIES:
        model = create_lm(f"{family}_lm_{args.size}", args.vocab, args.context, causal=True)
        runs[family] = (model, torch.optim.AdamW(model.parameters(), lr=1e-3, foreach=False))
        step_time(*runs[family], tokens, 1)  # warm-up
    rates = {f: [] for f in FAMILIES}
    for _ in range(args.rounds):
        for family, (model, optimizer) in runs.items():
            rates[family].append(tokens[:, 1:].numel() / step_time(model, optimizer, tokens, args.steps))
    print(f"size {args.size}, batch {args.batch} x context {args.context}, {args.threads} thread(s), "
          f"{args.rounds} rounds of {args.steps} steps")  # fmt: skip
    print(f"{'model':<22}{'params':>10}{'tokens/s (median)':>20}{'x transformer':>26}")
    for family, (model, _) in runs.items():
        ratios = [r / t for r, t in zip(rates[family], rates["transformer"], strict=True)]
        spread = f"{statistics.median(ratios):.2f} [{min(ratios):.2f}-{max(ratios):.2f}]"
        name = f"{family}_lm_{args.size}"
        print(f"{name:<22}{model.num_params():>10,}{statistics.median(rates[family]):>20,.0f}{spread:>26}")


if __name__ == "__main__":
    main()
