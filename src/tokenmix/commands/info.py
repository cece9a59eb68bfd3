"""tokenmix info NAME [--img-size N]: structure, per-stage shapes, parameters and MACs, beside the paper's."""

from __future__ import annotations

import argparse
import ast

from ..config import StageCfg, built_parts  # dataclasses only: no torch for `tokenmix info --help`


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="a model name from `tokenmix list`")
    parser.add_argument("--img-size", type=int, default=None, help="input resolution (default: the model's)")
    parser.add_argument("--config", action="store_true", help="print the full config as JSON")
    parser.add_argument("--mixers", default=None, help="per-stage token mixers: pool,pool,attn,attn (metaformer)")
    parser.add_argument(
        "--option", action="append", default=[], metavar="KEY=VALUE", help="any model option, e.g. head=official"
    )


def parse_options(pairs: list[str]) -> dict[str, object]:
    """KEY=VALUE pairs; VALUE is read as a Python literal when it is one (0.1, True, None), else as a string."""
    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--option expects KEY=VALUE, got {pair!r}")
        try:
            options[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            options[key] = value
    return options


def describe_parts(stage: StageCfg) -> str:
    """The parts the stage's block builds, e.g. "mixer pool(pool_size=3), norm groupnorm1(), mlp mlp(ratio=4.0)";
    an unset LayerScale or ResScale is left out."""
    parts = [(name, getattr(stage, name)) for name in built_parts(stage)]
    return ", ".join(f"{name} {value}" for name, value in parts if value is not None)


def run(args: argparse.Namespace) -> int:
    from ..counting import count_macs, count_params, meta_model, stage_shapes
    from ..factory import MODELS, model_cfg
    from .list_models import checkpoint_formats

    entry = MODELS.get(args.name)
    options = parse_options(args.option)
    if args.mixers is not None:
        options["mixers"] = args.mixers
    changed = bool(options)  # the paper's figures describe the default configuration only
    if args.img_size is not None:
        options["img_size"] = args.img_size
    cfg = model_cfg(args.name, **options)
    model = meta_model(cfg)
    paper = entry.paper
    print(f"{args.name} ({entry.family}), input {cfg.in_chans}x{cfg.img_size}x{cfg.img_size}")
    print(f"  stem: {cfg.stem}")
    for i, stage in enumerate(cfg.stages):
        down = f", downsample {stage.downsample}" if stage.downsample else ""
        print(f"  stage {i}: {stage.depth} x {stage.block.kind} block, dim {stage.dim}{down}")
        print(f"    {describe_parts(stage)}")
    print(f"  head: {cfg.head}")
    print("shapes (batch 1):")
    for name, shape in stage_shapes(cfg):
        print(f"  {name:40s} {tuple(shape)}")
    params = count_params(model) / 1e6
    print(
        f"params: {params:.2f}M (paper: {paper.params_m or '-'}M{' without head' if paper.params_exclude_head else ''})"
    )
    print(f"MACs:   {count_macs(cfg) / 1e9:.2f}G at {cfg.img_size} (paper: {paper.macs_g or '-'}G at {paper.img_size})")
    print(f"paper top-1: {paper.top1 or '-'} ({paper.pretrain}); source: {paper.source}")
    formats = ", ".join(["tokenmix"] + checkpoint_formats(entry))
    print(f"checkpoints: {formats} (create_model(checkpoint_path=...); the key layout is detected)")
    if changed:
        print("note: the paper's figures are for the default configuration, not these options")
    if args.config:
        print(cfg.to_json())
    return 0
