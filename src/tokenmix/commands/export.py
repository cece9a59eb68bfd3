"""tokenmix export NAME --checkpoint F --format onnx|torchscript|exported-program [--deploy]: write the model
with a dynamic batch size, then run the artifact (onnxruntime for ONNX) against eager PyTorch and print the
parity. Exit code 1 if the parity check fails."""

from __future__ import annotations

import argparse
import copy
from pathlib import Path

FORMATS = ("onnx", "torchscript", "exported-program")  # tokenmix.export.formats.FORMATS, without importing torch


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="a model name from `tokenmix list`")
    parser.add_argument("--checkpoint", required=True, help=".safetensors or .pth weights (tokenmix or timm keys)")
    parser.add_argument("--format", choices=FORMATS, default="onnx")
    parser.add_argument("--deploy", action="store_true", help="export the fused inference form (tokenmix.deploy)")
    parser.add_argument("--out", type=Path, default=None, help="output file (default: NAME + the format's suffix)")
    parser.add_argument("--img-size", type=int, help="input resolution (default: the checkpoint's, else the model's)")
    parser.add_argument("--num-classes", type=int, help="number of classes (default: the checkpoint's, else 1000)")
    parser.add_argument("--exporter", choices=("dynamo", "torchscript"), default="dynamo", help="ONNX exporter")
    parser.add_argument("--tolerance", type=float, default=1e-4, help="parity tolerance (max relative difference)")


def run(args: argparse.Namespace) -> int:
    from ..checkpoint import model_options, read_metadata
    from ..deploy import deploy
    from ..export import check_parity, export_model
    from ..export.formats import SUFFIX, example_input
    from ..factory import create_model

    meta = read_metadata(args.checkpoint) if Path(args.checkpoint).is_file() else {}
    flags = dict(num_classes=args.num_classes, img_size=args.img_size)
    options = {"num_classes": 1000, **model_options(args.checkpoint, meta, **flags)}  # stored config, then flags
    model = create_model(args.name, checkpoint_path=args.checkpoint, **options).eval()
    reference = copy.deepcopy(model)  # the un-fused eager model: what the artifact must reproduce
    if args.deploy:
        deploy(model, channels_last=False)  # a memory format is a runtime choice, not part of the graph
    out = args.out or Path(args.name + SUFFIX[args.format])
    example = example_input(model, batch=2, img_size=args.img_size)
    export_model(model, args.format, out, example, exporter=args.exporter)
    print(f"wrote {out} ({args.format}{', deployed' if args.deploy else ''}, dynamic batch)")
    report = check_parity(reference, args.format, out, example, tolerance=args.tolerance)
    print(report)
    return 0 if report.ok else 1
