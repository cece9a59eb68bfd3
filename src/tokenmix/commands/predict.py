"""tokenmix predict NAME --checkpoint F IMAGE...: the top-5 classes of each image."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="a model name from `tokenmix list`")
    parser.add_argument("images", nargs="+", type=Path, help="image files")
    parser.add_argument("--checkpoint", required=True, help=".safetensors or .pth weights (tokenmix or timm keys)")
    parser.add_argument("--num-classes", type=int, default=1000)
    parser.add_argument("--classes", type=Path, help="class names: a text file with one per line, or a JSON list")
    parser.add_argument("--top", type=int, default=5)


def load_image(path: Path) -> Image.Image:
    from PIL import Image, UnidentifiedImageError

    if not path.is_file():
        raise FileNotFoundError(f"image {path} does not exist")
    try:
        with Image.open(path) as im:
            return im.convert("RGB")
    except (UnidentifiedImageError, OSError) as e:
        raise ValueError(f"cannot read image {path}: {e}") from None


def class_names(path: Path | None, n: int) -> list[str]:
    if path is None:
        return [str(i) for i in range(n)]
    text = path.read_text()
    names = json.loads(text) if path.suffix == ".json" else [line.strip() for line in text.splitlines() if line.strip()]
    if len(names) != n:
        raise ValueError(f"{path} names {len(names)} classes, the model has {n}")
    return names


def run(args: argparse.Namespace) -> int:
    import torch
    from timm.data import create_transform, resolve_data_config

    from ..factory import create_model

    model = create_model(args.name, checkpoint_path=args.checkpoint, num_classes=args.num_classes).eval()
    transform = create_transform(**resolve_data_config(model=model))
    names = class_names(args.classes, model.num_classes)
    images = [load_image(p) for p in args.images]  # fail before any work on a bad file
    with torch.inference_mode():
        probs = model(torch.stack([transform(im) for im in images])).softmax(-1)
    for path, p in zip(args.images, probs, strict=True):
        top = p.topk(min(args.top, p.numel()))
        print(path)
        for prob, idx in zip(top.values.tolist(), top.indices.tolist(), strict=True):
            print(f"  {prob:7.2%}  {names[idx]}")
    return 0
