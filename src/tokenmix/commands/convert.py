"""tokenmix convert SRC OUT: a checkpoint between key layouts (tokenmix, timm's, an official release's), to
safetensors. SRC is a .safetensors/.pth/.npz file or a model folder, in any layout the model knows (sniffed by
its keys); it is loaded into the model first, so every shape is checked and a class-count or resolution
mismatch is named.

    tokenmix convert resmlp_12.pth resmlp_12.safetensors --model resmlp_12_224              # -> tokenmix keys
    tokenmix convert runs/a runs/a/timm.safetensors --to timm                               # -> timm.create_model
    tokenmix convert runs/a hub/resmlp --to folder                                          # -> save_pretrained
    tokenmix convert RepMLP-Res50-light-224_deploy.pth light.safetensors \
        --model repmlp_resnet50_light --option deploy=True                                  # a merged release
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", type=Path, help="weights file or model folder")
    parser.add_argument("output", type=Path, help="the .safetensors file to write (a folder with --to folder)")
    parser.add_argument("--model", help="the tokenmix model (default: the one the source's metadata names)")
    parser.add_argument(
        "--to",
        default="tokenmix",
        help="tokenmix (default), timm, folder (save_pretrained), official (its release's layout), or a key map name",
    )
    parser.add_argument("--num-classes", type=int, help="the source's class count, if it is not stored with it")
    parser.add_argument("--img-size", type=int, help="the source's input size, if it is not stored with it")
    parser.add_argument(
        "--option", action="append", default=[], metavar="KEY=VALUE", help="a model option, e.g. deploy=True"
    )


def run(args: argparse.Namespace) -> int:
    from safetensors.torch import save_file

    from ..checkpoint import model_options, read_metadata, save_weights
    from ..factory import MODELS, create_model
    from ..folder import is_folder_name
    from .info import parse_options

    if not args.source.exists():
        raise FileNotFoundError(f"source {args.source} does not exist")
    flags, options = dict(num_classes=args.num_classes, img_size=args.img_size), parse_options(args.option)
    if is_folder_name(args.source):
        model = create_model(str(args.source), **{k: v for k, v in flags.items() if v is not None}, **options)
    else:
        meta = read_metadata(args.source)
        name = args.model or meta.get("architecture")
        if not name:
            raise ValueError(f"--model is needed: {args.source} does not name its model")
        stored = model_options(args.source, meta, **flags)
        model = create_model(name, checkpoint_path=str(args.source), **stored, **options)
    name = model.pretrained_cfg["architecture"]
    entry = MODELS.get(name)
    official = ("official",) if entry.official_keymaps else ()
    targets = {
        "tokenmix",
        "folder",
        *(("timm",) if entry.timm_name and entry.keymap else ()),
        *official,
        *entry.official_keymaps,
    }
    if args.to not in targets:
        raise ValueError(f"--to for {name} must be one of {', '.join(sorted(targets))}; got {args.to!r}")
    if args.to == "folder":
        from ..hub import save_pretrained

        save_pretrained(model, args.output)
    elif args.to == "tokenmix":
        save_weights(model, args.output)
    else:
        tensors = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
        save_file(_to_layout(tensors, args.to, entry), str(args.output), metadata={"format": "pt"})
    print(f"{name}: {args.source} -> {args.output} ({args.to} layout)")
    return 0


def _to_layout(tensors: dict, to: str, entry: Any) -> dict:
    """The tensors in timm's keys, a named official key map's, or ("official") the first official map that
    takes every key of this model (a family's releases differ, e.g. in their heads)."""
    from ..convert import from_tokenmix

    if to != "official":
        return from_tokenmix(tensors, entry.keymap if to == "timm" else to)
    for keymap in entry.official_keymaps:
        try:
            return from_tokenmix(tensors, keymap)
        except KeyError:
            continue
    raise ValueError(f"none of {entry.name}'s official key maps ({', '.join(entry.official_keymaps)}) takes its keys")
