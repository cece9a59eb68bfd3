"""tokenmix fill-mask RUN_OR_CHECKPOINT "text with [MASK]" [--top-k K]: the most likely tokens for each [MASK],
from a masked language model trained with train-lm."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", type=Path, help="a train-lm run folder, checkpoint directory or .safetensors")
    parser.add_argument("text", help="a sentence with one or more [MASK]")
    parser.add_argument("--top-k", type=int, default=5, help="predictions per [MASK]")
    parser.add_argument("--tokenizer", type=Path, help="a tokenizer.json to check against the checkpoint's")


def run(args: argparse.Namespace) -> int:
    from ..lm.checkpoint import load_lm
    from ..lm.sampling import fill_mask

    if args.top_k < 1:
        raise ValueError(f"expected --top-k >= 1, got {args.top_k}")
    lm = load_lm(args.checkpoint, args.tokenizer)
    if lm.objective != "mlm":
        raise ValueError(f"fill-mask needs a masked language model; {lm.path} was trained with {lm.objective}")
    for i, predictions in enumerate(fill_mask(lm.model, lm.tokenizer, args.text, args.top_k), start=1):
        shown = "  ".join(f"{token!r} {p:.3f}" for token, p in predictions)
        print(f"[MASK] {i}: {shown}")
    return 0
