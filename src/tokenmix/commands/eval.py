"""tokenmix eval NAME --checkpoint F --data D: top-1, top-5, loss, per-class accuracy (JSON on stdout) and,
with --output, eval.json and confusion.png.

The model is rebuilt as the checkpoint stored it (classes, channels, input size, normalisation); the data set
must have the same classes and channels, and is resized to the stored input size unless --img-size is given."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..data.pipeline import DataInfo


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="a model name from `tokenmix list`")
    parser.add_argument("--checkpoint", required=True, type=Path, help="weights: .safetensors (or weights-only .pth)")
    parser.add_argument("--ema", action="store_true", help="of a training checkpoint, its EMA weights (default: model)")
    parser.add_argument("--data", default="digits", help="digits, cifar10, cifar100, fashion_mnist, npz, imagefolder")
    parser.add_argument("--data-dir", help="data set directory (npz: the file)")
    parser.add_argument("--img-size", type=int, help="input size (default: the checkpoint's, else the data set's)")
    parser.add_argument(
        "--normalize",
        default="data",
        choices=("data", "model"),
        help="mean/std when the checkpoint does not store them",
    )
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument(
        "--amp",
        default="checkpoint",
        choices=("checkpoint", "none", "bf16", "auto"),
        help="mixed precision: as the checkpoint was trained (its stored amp, else none), none, bf16, or auto "
        "(bf16 where the hardware has it)",
    )
    parser.add_argument("--hflip", action="store_true", help="average each image's logits with its mirror image's")
    parser.add_argument(
        "--translate",
        type=int,
        default=0,
        metavar="PX",
        help="also average the logits of the image shifted PX pixels up-left and down-right (weights 1/2, 1/4, 1/4)",
    )
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--output", type=Path, help="directory for eval.json and confusion.png")


def run(args: argparse.Namespace) -> int:
    from ..checkpoint import model_options, read_metadata
    from ..data.config import DataCfg
    from ..data.pipeline import open_data
    from ..evaluate import evaluate
    from ..evaluate.confusion import plot_confusion
    from ..factory import MODELS, create_model
    from ..memory_format import preferred_memory_format
    from ..train.distributed import pick_device
    from ..train.report import EvalProgress
    from ..train.runtime import amp_dtype, autocast

    check_output(args.output)  # before any work: a refusal after minutes of evaluation helps no one
    if args.batch_size < 1:
        raise ValueError(f"--batch-size must be at least 1, got {args.batch_size}")
    if args.translate < 0:
        raise ValueError(f"--translate must be 0 or more pixels, got {args.translate}")
    MODELS.get(args.name)  # an unknown model fails before any file is read
    if not args.checkpoint.is_file():
        raise FileNotFoundError(f"checkpoint {args.checkpoint} does not exist")
    meta = read_metadata(args.checkpoint)
    stored = model_options(args.checkpoint, meta, img_size=args.img_size)
    cfg = DataCfg(  # batch_size: of the training split, which eval does not read
        args.data,
        args.data_dir,
        model=args.name,
        img_size=stored.get("img_size"),
        normalize=args.normalize,
        batch_size=1,
    )
    batches, data = open_data(cfg)
    check_data_fits(args.checkpoint, stored, data)
    if args.translate >= data.img_size:
        raise ValueError(f"--translate must be below the image size {data.img_size}, got {args.translate}")
    if "mean" in meta:  # the normalisation the weights were trained with wins
        batches.mean, batches.std = tuple(meta["mean"]), tuple(meta["std"])
    device = pick_device(args.device, 0)
    model = create_model(
        args.name,
        checkpoint_path=args.checkpoint,
        use_ema=args.ema,
        num_classes=data.num_classes,
        in_chans=data.in_chans,
        img_size=data.img_size,
    )
    # the trainer's evaluation runs in its amp and memory format: the same here, or eval runs several times slower
    amp = stored_amp(meta, device) if args.amp == "checkpoint" else args.amp
    fmt = preferred_memory_format(model, device, training=False)
    progress = EvalProgress(data.num_test, enabled=True, file=sys.stderr)  # stdout is the JSON result
    counts = evaluate(
        model.to(device, memory_format=fmt),
        batches.test_batches(args.batch_size),
        data.num_classes,
        device,
        autocast(device, amp_dtype(amp, device)),
        fmt,
        hflip=args.hflip,
        progress=progress,
        translate=args.translate,
    )
    progress.close()
    skipped = sorted(getattr(batches, "test_skipped", ()))
    if skipped:
        shown = ", ".join(skipped[:5]) + (f" and {len(skipped) - 5} more" if len(skipped) > 5 else "")
        print(f"warning: left out {len(skipped)} unreadable image(s): {shown}", file=sys.stderr)
    classes = list(data.classes)
    result = dict(
        model=args.name,
        checkpoint=str(args.checkpoint),
        data=data.name,
        images=counts.count,
        skipped=len(skipped),
        amp=amp,
        hflip=args.hflip,
        translate=args.translate,
        top1=counts.top1_pct,
        top5=counts.top5_pct,
        loss=counts.loss,
        per_class_top1=dict(zip(classes, counts.per_class_pct(), strict=True)),
        confusion=counts.confusion.tolist(),
    )
    text = json.dumps(result, indent=1)
    print(text)
    if args.output is not None:
        args.output.mkdir(parents=True, exist_ok=True)
        (args.output / "eval.json").write_text(text + "\n")
        plot_confusion(args.output / "confusion.png", counts.confusion, classes)
    return 0


def stored_amp(meta: dict, device) -> str:
    """The amp the checkpoint was trained with (none when it does not say); fp16 (a CUDA GradScaler's) runs
    in full precision off CUDA."""
    amp = meta.get("amp", "none")
    if amp not in ("none", "bf16", "fp16"):
        raise ValueError(f"checkpoint metadata amp is {amp!r}; expected none, bf16 or fp16")
    return "none" if amp == "fp16" and device.type != "cuda" else amp


def check_output(output: Path | None) -> None:
    if output is not None and output.exists() and not output.is_dir():
        raise ValueError(f"--output {output} is an existing file; expected a directory for eval.json and confusion.png")


def check_data_fits(checkpoint: Path, stored: dict[str, int], data: DataInfo) -> None:
    """The stored classes and channels must be the data set's: a mismatch is an error, not a reshaped head."""
    for key, have, what in (("num_classes", data.num_classes, "classes"), ("in_chans", data.in_chans, "channels")):
        if key in stored and stored[key] != have:
            raise ValueError(f"checkpoint {checkpoint} is a model for {stored[key]} {what}; {data.name} has {have}")
