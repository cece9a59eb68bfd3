"""tokenmix viz RUN|CHECKPOINT [--output DIR]: PNGs of the token-mixing weights of the first blocks (Mixer,
gMLP, ResMLP, ConvMixer, GFNet: whichever the model has) and of the model's effective receptive field."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", type=Path, help="a run folder (model.safetensors) or a .safetensors checkpoint")
    parser.add_argument("--output", type=Path, help="folder for the PNGs (default: TARGET's folder / viz)")
    parser.add_argument("--blocks", type=int, default=2, help="draw the weights of the first N blocks (default 2)")
    parser.add_argument("--images", type=int, default=64, help="images the ERF is averaged over (default 64)")


def run(args: argparse.Namespace) -> int:
    from ..viz.erf import model_erf
    from ..viz.load import erf_images, load_model
    from ..viz.render import save_map_grid
    from ..viz.weights import weight_maps

    if args.blocks < 1 or args.images < 1:
        raise ValueError(f"--blocks and --images must be >= 1, got {args.blocks} and {args.images}")
    model, meta = load_model(args.target)
    out = args.output or (args.target if args.target.is_dir() else args.target.parent) / "viz"
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for w in weight_maps(model, args.blocks):
        save_map_grid(out / f"{w.name}.png", w.maps, w.title, w.symmetric)
        written[w.name] = list(w.maps.shape)
    erf = model_erf(model, erf_images(args.target, model, meta, args.images))
    save_map_grid(
        out / "erf.png", erf[None], f"effective receptive field of {meta.get('architecture', 'the model')}", False
    )
    written["erf"] = [1, *erf.shape]
    (out / "viz.json").write_text(json.dumps(written, indent=1) + "\n")
    print(f"wrote {len(written)} pictures to {out}: {', '.join(written)}")
    return 0
