"""tokenmix train [--recipe R] [--set key=value ...] [flags]: train a model; with no arguments, the default
ConvMixer on scikit-learn's digits (seconds on a laptop CPU). Under `torchrun` it runs DDP.

Exit codes: 0 done, 2 a user error (one line), 3 a non-finite loss or state, 130/143 stopped by SIGINT/SIGTERM
after writing a checkpoint."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ..train.config import parse_value, recipe_names

# Flags for the fields people change most; every other field through --set key=value.
FLAGS = {
    "model": ("--model", "model name (tokenmix list)"),
    "data": ("--data", "digits, cifar10, cifar100, fashion_mnist, npz, imagefolder"),
    "data_dir": ("--data-dir", "data set directory (npz: the file)"),
    "epochs": ("--epochs", "epochs"),
    "batch_size": ("--batch-size", "global batch size (all processes)"),
    "lr": ("--lr", "peak learning rate"),
    "opt": ("--opt", "adamw, sgd or a timm optimizer (lamb, lion, ...)"),
    "init_from": ("--init-from", "fine-tune from these weights (file or folder; another class count: new head)"),
    "weight_decay": ("--weight-decay", "AdamW/SGD weight decay"),
    "amp": ("--amp", "none, bf16, fp16 (CUDA) or auto"),
    "seed": ("--seed", "random seed"),
    "img_size": ("--img-size", "input size (default: the data set's)"),
    "threads": ("--threads", "torch CPU threads"),
    "device": ("--device", "auto, cpu or cuda"),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--recipe", default="digits", help=f"a packaged recipe ({', '.join(recipe_names())}) or a .json file"
    )
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override any config field")
    for field, (flag, help_text) in FLAGS.items():
        parser.add_argument(flag, dest=f"field_{field}", default=None, metavar="X", help=help_text)
    parser.add_argument("--download", action="store_true", help="cifar10/100: download when missing")
    parser.add_argument("--output", type=Path, help="run directory (default: runs/<time>-<model>-<data>)")
    parser.add_argument("--resume", help="a checkpoint or run directory, or 'auto' (the newest in --output, if any)")
    parser.add_argument("--print-config", action="store_true", help="print the resolved config and exit")


def explicit_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """Typed values of the fields given on the command line (flags and --set)."""
    out = {f: parse_value(f, getattr(args, f"field_{f}")) for f in FLAGS if getattr(args, f"field_{f}") is not None}
    if args.download:
        out["download"] = True
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--set expects KEY=VALUE, got {item!r}")
        out[key.strip()] = parse_value(key.strip(), value)
    return out


def run(args: argparse.Namespace) -> int:
    from ..train import run as training
    from ..train.report import result_line
    from ..train.signals import Interrupted
    from ..train.trainer import CollectiveFailure, NonFiniteLoss

    plan = training.plan(args.recipe, explicit_overrides(args), args.output, args.resume)
    if args.print_config:
        print(plan.cfg.to_json())
        return 0
    try:
        summary, run_dir = training.execute(plan)
    except NonFiniteLoss as e:
        print(f"tokenmix train: error: {e}", file=sys.stderr)
        return 3
    except CollectiveFailure as e:
        print(f"tokenmix train: error: {e}", file=sys.stderr)
        return 1
    except Interrupted as e:
        if e.is_main:
            print(f"tokenmix train: {e}", file=sys.stderr)
        return e.exit_code
    if summary is not None:
        print(result_line(summary, run_dir))
    return 0
