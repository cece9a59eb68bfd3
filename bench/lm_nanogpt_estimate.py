"""How noisy nanoGPT's validation number is: its estimate_loss() averages `eval_iters` random batches of the
validation split (20 batches of 12 x 64 in the README's CPU run), where train-lm scores the whole held-out tail.
This draws that estimate many times from a finished run's final weights and prints its spread beside the
whole-tail loss.

    PYTHONPATH=src python bench/lm_nanogpt_estimate.py RUN [RUN ...] [--draws 50] [--eval-iters 20] [--batch 12]
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import torch

from tokenmix.lm.checkpoint import load_lm
from tokenmix.lm.data import Split, read_text
from tokenmix.lm.trainer import lm_loss


@torch.no_grad()
def nanogpt_estimate(model, val: torch.Tensor, eval_iters: int, batch: int, gen: torch.Generator) -> float:
    context = model.context
    losses = []
    for _ in range(eval_iters):
        starts = torch.randint(len(val) - context, (batch,), generator=gen)
        windows = val[starts[:, None] + torch.arange(context + 1)]
        losses.append(lm_loss(model(windows[:, :-1]), windows[:, 1:])[0].item())
    return statistics.mean(losses)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--draws", type=int, default=50)
    parser.add_argument("--eval-iters", type=int, default=20)
    parser.add_argument("--batch", type=int, default=12)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"{'run':<40}{'whole tail':>12}{'nanoGPT estimate: mean  sd  [min-max]':>44}")
    for run in args.runs:
        lm, summary = load_lm(run), json.loads((run / "summary.json").read_text())
        cfg = json.loads((run / "config.json").read_text())
        ids = lm.tokenizer.encode(read_text(Path(cfg["data"])))
        val = Split.of(ids, cfg["val_fraction"], lm.model.context + 1, str(run)).val
        gen = torch.Generator().manual_seed(0)
        draws = [nanogpt_estimate(lm.model, val, args.eval_iters, args.batch, gen) for _ in range(args.draws)]
        spread = f"{statistics.mean(draws):.4f}  {statistics.stdev(draws):.4f}  [{min(draws):.4f}-{max(draws):.4f}]"
        print(f"{run.name:<40}{summary['final_val_loss']:>12.4f}{spread:>44}")


if __name__ == "__main__":
    main()
