"""tokenmix train-lm --data FILE.txt [--model M] [--objective causal|mlm] [--set key=value ...]: train a language
model (gMLP, aMLP or Transformer) on a text file; defaults are nanoGPT's CPU Shakespeare run."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

# Flags for the fields people change most; every other field through --set key=value.
FLAGS = {
    "data": ("--data", "a UTF-8 text file"),
    "model": ("--model", "gmlp_lm_*, amlp_lm_*, transformer_lm_* (nano, tiny, small)"),
    "objective": ("--objective", "causal (next token) or mlm (BERT's masked tokens)"),
    "tokenizer": ("--tokenizer", "char (default) or bpe (byte-level BPE trained on the data)"),
    "token_weights": ("--token-weights", "gMLP/aMLP: toeplitz (default) or dense"),
    "context": ("--context", "tokens per sequence"),
    "steps": ("--steps", "optimizer steps"),
    "batch_size": ("--batch-size", "sequences per step"),
    "lr": ("--lr", "peak learning rate"),
    "seed": ("--seed", "random seed"),
    "device": ("--device", "auto, cpu or cuda"),
    "threads": ("--threads", "torch CPU threads"),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    for field, (flag, help_text) in FLAGS.items():
        parser.add_argument(flag, dest=f"field_{field}", default=None, metavar="X", help=help_text)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override any config field")
    parser.add_argument("--output", type=Path, help="run directory (default: runs/<time>-<model>-<data>)")
    parser.add_argument("--resume", help="a checkpoint or run directory, or 'auto' (the newest in --output, if any)")
    parser.add_argument("--print-config", action="store_true", help="print the resolved config and exit")


def overrides(args: argparse.Namespace) -> dict[str, Any]:
    from ..lm.config import parse_value

    out = {f: parse_value(f, getattr(args, f"field_{f}")) for f in FLAGS if getattr(args, f"field_{f}") is not None}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--set expects KEY=VALUE, got {item!r}")
        out[key.strip()] = parse_value(key.strip(), value)
    return out


def resumed_config(saved: dict[str, Any], given: dict[str, Any]):
    from ..lm.config import FIELDS, RESUME_MAY_CHANGE, make_cfg

    for key, value in given.items():
        if key not in RESUME_MAY_CHANGE and saved.get(key) != value:
            raise ValueError(
                f"resume: {key}={value!r} differs from the checkpoint's {saved.get(key)!r}; a resumed run keeps "
                f"its config (may change: {', '.join(sorted(RESUME_MAY_CHANGE))})"
            )
    return make_cfg({**{k: v for k, v in saved.items() if k in FIELDS}, **given})


def find_resume(args: argparse.Namespace) -> Path | None:
    from ..train import checkpoints

    if args.resume is None:
        return None
    if args.resume == "auto":
        if args.output is None:
            raise ValueError("--resume auto needs --output (the run directory to continue)")
        found = checkpoints.list_checkpoints(args.output / "checkpoints")
        return found[-1] if found else None  # nothing yet: start from scratch
    return checkpoints.find_checkpoint(Path(args.resume))


def run(args: argparse.Namespace) -> int:
    from ..lm.config import make_cfg
    from ..lm.trainer import LMTrainer
    from ..train import checkpoints
    from ..train.signals import Interrupted

    given = overrides(args)
    cfg = make_cfg(given)
    resume = find_resume(args)
    if resume is not None:
        cfg = resumed_config(checkpoints.read_state(resume)[1].get("config", {}), given)
    if args.print_config:
        print(cfg.to_json())
        return 0
    default = Path("runs") / f"{time.strftime('%Y%m%d-%H%M%S')}-{cfg.model}-{Path(cfg.data).stem}"
    run_dir = args.output or (resume.parent.parent if resume is not None else default)
    trainer = LMTrainer(cfg, run_dir, resume)
    s = trainer.split_info
    print(
        f"training {cfg.model} ({trainer.model.num_params():,} parameters, {cfg.objective}) on {cfg.data}: "
        f"{s['train']:,} training / {s['val']:,} validation tokens ({trainer.tokenizer.kind}, "
        f"{len(trainer.tokenizer.vocab)} in the vocabulary), context {cfg.context}, {cfg.steps} steps of "
        f"{cfg.batch_size} on {trainer.device.type}; run directory {run_dir}",
        flush=True,
    )
    try:
        summary = trainer.fit()
    except FloatingPointError as e:
        print(f"tokenmix train-lm: error: {e}", file=sys.stderr)
        return 3
    except Interrupted as e:
        print(f"tokenmix train-lm: {e}", file=sys.stderr)
        return e.exit_code
    print(
        f"validation loss {summary['final_val_loss']:.4f} (perplexity {summary['final_val_ppl']:.2f}) after "
        f"{summary['steps']} steps, {summary['train_time_s']:.1f} s of training, {summary['tokens_per_s']:,.0f} "
        f"tokens/s; results in {run_dir}"
    )
    return 0
