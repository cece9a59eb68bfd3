"""tokenmix generate RUN_OR_CHECKPOINT [--prompt TEXT] [--tokens N] [--temperature T] [--top-k K]: sample text
from a causal language model trained with train-lm."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", type=Path, help="a train-lm run folder, checkpoint directory or .safetensors")
    parser.add_argument("--prompt", default="\n", help="text to continue (default: a newline)")
    parser.add_argument("--tokens", type=int, default=200, help="tokens to generate")
    parser.add_argument("--temperature", type=float, default=0.8, help="softmax temperature; 0: greedy")
    parser.add_argument("--top-k", type=int, default=None, help="sample from the k most likely tokens only")
    parser.add_argument("--seed", type=int, default=0, help="sampling seed")
    parser.add_argument("--tokenizer", type=Path, help="a tokenizer.json to check against the checkpoint's")


def run(args: argparse.Namespace) -> int:
    from ..lm.checkpoint import load_lm
    from ..lm.sampling import generate

    if args.tokens < 0 or args.temperature < 0 or (args.top_k is not None and args.top_k < 1):
        raise ValueError(
            f"expected --tokens >= 0, --temperature >= 0 and --top-k >= 1, got {args.tokens}, {args.temperature}, "
            f"{args.top_k}"
        )
    lm = load_lm(args.checkpoint, args.tokenizer)
    if lm.objective != "causal":
        raise ValueError(f"generate needs a causal language model; {lm.path} was trained with {lm.objective}")
    prompt = lm.tokenizer.encode(args.prompt)
    if not prompt:
        raise ValueError("expected a prompt of at least one token, got an empty one")
    out = generate(lm.model, prompt, args.tokens, args.temperature, args.top_k, args.seed)
    print(lm.tokenizer.decode(out))
    return 0
