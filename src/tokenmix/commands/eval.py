"""tokenmix eval NAME --checkpoint F --data D: top-1, top-5, loss, per-class accuracy (JSON on stdout) and,
with --output, eval.json and confusion.png."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="a model name from `tokenmix list`")
    parser.add_argument("--checkpoint", required=True, type=Path, help="weights: .safetensors (or weights-only .pth)")
    parser.add_argument("--data", default="digits", help="digits, cifar10, cifar100, fashion_mnist, npz, imagefolder")
    parser.add_argument("--data-dir", help="data set directory (npz: the file)")
    parser.add_argument("--img-size", type=int, help="input size (default: the data set's)")
    parser.add_argument(
        "--normalize",
        default="data",
        choices=("data", "model"),
        help="mean/std when the checkpoint does not store them",
    )
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
    parser.add_argument("--output", type=Path, help="directory for eval.json and confusion.png")


def run(args: argparse.Namespace) -> int:
    from ..checkpoint import is_safetensors, load_state_dict_into, read_metadata, read_state_dict, to_tokenmix_keys
    from ..data.pipeline import open_data
    from ..evaluate import evaluate
    from ..evaluate.confusion import plot_confusion
    from ..factory import MODELS, create_model
    from ..train.config import make_cfg
    from ..train.distributed import pick_device

    entry = MODELS.get(args.name)
    state_dict = read_state_dict(args.checkpoint)  # refuses pickles that are not plain tensors
    meta = read_metadata(args.checkpoint) if is_safetensors(args.checkpoint) else {}
    cfg = make_cfg(
        dict(
            model=args.name,
            data=args.data,
            data_dir=args.data_dir,
            img_size=args.img_size,
            normalize=args.normalize,
            batch_size=1,
            eval_batch_size=args.batch_size,
        )
    )
    batches, data = open_data(cfg)
    if "mean" in meta:  # the normalisation the weights were trained with wins
        batches.mean, batches.std = tuple(json.loads(meta["mean"])), tuple(json.loads(meta["std"]))
    device = pick_device(args.device, 0)
    model = create_model(args.name, num_classes=data.num_classes, in_chans=data.in_chans, img_size=data.img_size)
    source = f"checkpoint {args.checkpoint}"
    load_state_dict_into(model, to_tokenmix_keys(state_dict, model, entry.keymaps, source), source)
    counts = evaluate(model.to(device), batches.test_batches(args.batch_size), data.num_classes, device)
    classes = list(data.classes)
    result = dict(
        model=args.name,
        checkpoint=str(args.checkpoint),
        data=data.name,
        images=counts.count,
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
