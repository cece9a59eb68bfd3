"""tokenmix predict NAME --checkpoint F IMAGE...: the top-5 classes of each image.

The model is rebuilt as the checkpoint stored it (classes, channels, input size, class names and the
normalisation it was trained with, from a tokenmix safetensors file's metadata); a flag replaces only what
it names. Without stored metadata (a timm .pth): 1000 classes and the model's own preprocessing.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="a model name from `tokenmix list`")
    parser.add_argument("images", nargs="+", type=Path, help="image files")
    parser.add_argument("--checkpoint", required=True, help=".safetensors or .pth weights (tokenmix or timm keys)")
    parser.add_argument("--ema", action="store_true", help="of a training checkpoint, its EMA weights (default: model)")
    parser.add_argument("--num-classes", type=int, help="number of classes (default: the checkpoint's, else 1000)")
    parser.add_argument("--img-size", type=int, help="input size (default: the checkpoint's, else the model's)")
    parser.add_argument("--in-chans", type=int, help="image channels, 1 or 3 (default: the checkpoint's, else 3)")
    parser.add_argument("--classes", type=Path, help="class names: a text file with one per line, or a JSON list")
    parser.add_argument("--top", type=int, default=5, help="how many classes to print per image (>= 1)")


def class_names(path: Path | None, stored: list[str] | None, n: int) -> list[str]:
    """Names from --classes, else those stored with the checkpoint, else the class indices."""
    if path is not None:
        if not path.is_file():
            raise FileNotFoundError(f"class names file {path} does not exist")
        text = path.read_text()
        names = json.loads(text) if path.suffix == ".json" else [line.strip() for line in text.splitlines()]
        names, source = [str(name) for name in names if str(name).strip()], str(path)
    elif stored is not None:
        names, source = stored, "the checkpoint"
    else:
        return [str(i) for i in range(n)]
    if len(names) != n:
        raise ValueError(f"{source} names {len(names)} classes, the model has {n}")
    return names


def preprocessing(model: torch.nn.Module, meta: dict[str, Any]) -> dict[str, Any]:
    """timm data config for the images: the stored mean/std, and whole images (crop_pct 1) for a model
    trained on an in-memory data set, which saw each image whole; the model's own defaults otherwise."""
    from timm.data import resolve_data_config

    from ..data.pipeline import model_mean_std

    data_cfg = resolve_data_config(model=model)
    if "mean" in meta:
        data_cfg.update(mean=tuple(meta["mean"]), std=tuple(meta["std"]))
    elif model.in_chans != len(data_cfg["mean"]):
        data_cfg["mean"], data_cfg["std"] = model_mean_std(model.pretrained_cfg["architecture"], model.in_chans)
    if len(data_cfg["mean"]) != model.in_chans:
        raise ValueError(f"the checkpoint normalises {len(data_cfg['mean'])} channels, the model has {model.in_chans}")
    if meta.get("data", "imagefolder") != "imagefolder":
        data_cfg.update(crop_pct=1.0, interpolation="bilinear")  # what ArrayBatches' resize does
    return data_cfg


def run(args: argparse.Namespace) -> int:
    import torch
    from timm.data import create_transform

    from ..checkpoint import model_options, read_metadata
    from ..data.images import open_image
    from ..factory import create_model

    if args.top < 1:
        raise ValueError(f"--top must be at least 1, got {args.top}")
    if args.in_chans not in (None, 1, 3):
        raise ValueError(f"--in-chans must be 1 or 3, got {args.in_chans}")
    meta = read_metadata(args.checkpoint) if Path(args.checkpoint).is_file() else {}
    flags = dict(num_classes=args.num_classes, img_size=args.img_size, in_chans=args.in_chans)
    options = {"num_classes": 1000, **model_options(args.checkpoint, meta, **flags)}
    model = create_model(args.name, checkpoint_path=args.checkpoint, use_ema=args.ema, **options).eval()
    names = class_names(args.classes, meta.get("classes"), model.num_classes)
    images = [open_image(p, model.in_chans) for p in args.images]  # fail before any work on a bad file
    transform = create_transform(**preprocessing(model, meta))
    with torch.inference_mode():
        probs = model(torch.stack([transform(im) for im in images])).softmax(-1)
    for path, p in zip(args.images, probs, strict=True):
        top = p.topk(min(args.top, p.numel()))
        print(path)
        for prob, idx in zip(top.values.tolist(), top.indices.tolist(), strict=True):
            print(f"  {prob:7.2%}  {names[idx]}")
    return 0
