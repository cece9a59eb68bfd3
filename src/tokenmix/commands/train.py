"""tokenmix train [--recipe R] [--set key=value ...] [flags]: train a model; with no arguments, the default
ConvMixer on scikit-learn's digits (seconds on a laptop CPU). Under `torchrun` it runs DDP."""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path
from typing import Any

from ..train.config import FIELDS, RESUME_MAY_CHANGE, load_recipe, make_cfg, parse_value, recipe_names

# Flags for the fields people change most; every other field through --set key=value.
FLAGS = {
    "model": ("--model", "model name (tokenmix list)"),
    "data": ("--data", "digits, cifar10, cifar100, fashion_mnist, npz, imagefolder"),
    "data_dir": ("--data-dir", "data set directory (npz: the file)"),
    "epochs": ("--epochs", "epochs"),
    "batch_size": ("--batch-size", "global batch size (all processes)"),
    "lr": ("--lr", "peak learning rate"),
    "opt": ("--opt", "adamw or sgd"),
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


def resumed_config(saved: dict[str, Any], overrides: dict[str, Any]):
    changed = {k: v for k, v in overrides.items() if k not in RESUME_MAY_CHANGE and saved.get(k) != v}
    if changed:
        key, value = next(iter(changed.items()))
        raise ValueError(
            f"resume: {key}={value!r} differs from the checkpoint's {saved.get(key)!r}; "
            f"a resumed run keeps its "
            f"config (may change: {', '.join(sorted(RESUME_MAY_CHANGE))})"
        )
    return make_cfg({**{k: v for k, v in saved.items() if k in FIELDS}, **overrides})


def default_run_dir(cfg) -> Path:
    return Path("runs") / f"{time.strftime('%Y%m%d-%H%M%S')}-{cfg.model}-{cfg.data}"


def run(args: argparse.Namespace) -> int:
    from ..train import checkpoints
    from ..train.distributed import broadcast_object, init_distributed, shutdown
    from ..train.report import write_text
    from ..train.trainer import NonFiniteLoss, Trainer

    overrides = explicit_overrides(args)
    cfg = make_cfg({**load_recipe(args.recipe), **overrides})
    resume = _find_resume(args)
    if resume is not None:
        _, info = checkpoints.load_state(resume)
        cfg = resumed_config(info.get("config", {}), overrides)
    if args.print_config:
        print(cfg.to_json())
        return 0
    dist = init_distributed(cfg.device)
    try:
        run_dir = args.output or (resume.parent.parent if resume is not None else None)
        run_dir = Path(broadcast_object(str(run_dir or default_run_dir(cfg)), dist))
        created = not run_dir.exists()
        if dist.is_main:
            run_dir.mkdir(parents=True, exist_ok=True)
            write_text(run_dir / "config.json", cfg.to_json() + "\n")
        try:
            trainer = Trainer(cfg, run_dir, dist, resume)
        except BaseException:  # a bad model, data set or checkpoint: leave no empty run folder behind
            if dist.is_main and created:
                shutil.rmtree(run_dir, ignore_errors=True)
            raise
        if dist.is_main:
            d = trainer.data
            print(
                f"training {cfg.model} on {d.name} ({d.num_train} train / {d.num_test} test images, "
                f"{d.in_chans}×{d.img_size}×{d.img_size}, {d.num_classes} classes) for {cfg.epochs} epochs "
                f"on {dist.world} × {dist.device.type}; run directory {run_dir}",
                flush=True,
            )
        try:
            summary = trainer.fit()
        except NonFiniteLoss as e:
            print(f"tokenmix train: error: {e}", file=sys.stderr)
            return 3
    finally:
        shutdown(dist)
    if dist.is_main:
        print(
            f"test accuracy: {summary['final_top1']:.2f}% top-1 "
            f"({summary['num_test']} {summary['data']} test images; "
            f"best {summary['best_top1']:.2f}%) in {summary['train_time_s']:.1f} s of training, "
            f"{summary['images_per_s']:.0f} images/s; results in {run_dir}"
        )
    return 0


def _find_resume(args: argparse.Namespace) -> Path | None:
    from ..train import checkpoints

    if args.resume is None:
        return None
    if args.resume == "auto":
        if args.output is None:
            raise ValueError("--resume auto needs --output (the run directory to continue)")
        found = checkpoints.list_checkpoints(args.output / "checkpoints")
        return found[-1] if found else None  # nothing yet: start from scratch
    return checkpoints.find_checkpoint(Path(args.resume))
