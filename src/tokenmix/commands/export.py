"""tokenmix export NAME --checkpoint F --format onnx|torchscript|exported-program [--deploy] [--quantize int8]:
write the model with a dynamic batch size (and height/width where the model takes any size), then run the
artifact (onnxruntime for ONNX) against eager PyTorch and print the parity. ONNX files are self-contained
(weights inside below 2 GB) and carry mean, std, input size, class names and the tokenmix config.

Exit code 1 if the parity check fails or proves nothing (see tokenmix.export.parity), or if the int8 model
agrees with fp32 on fewer test images than --min-agreement."""

from __future__ import annotations

import argparse
import copy
import tempfile
from pathlib import Path
from typing import Any

FORMATS = ("onnx", "torchscript", "exported-program")  # tokenmix.export.formats.FORMATS, without importing torch
CHECK_IMAGES = 512  # real test images for parity and int8 agreement
CALIBRATION_IMAGES = 1024


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="a model name from `tokenmix list`")
    parser.add_argument("--checkpoint", required=True, help=".safetensors or .pth weights (tokenmix or timm keys)")
    parser.add_argument("--format", choices=FORMATS, default="onnx")
    parser.add_argument("--deploy", action="store_true", help="export the fused inference form (tokenmix.deploy)")
    parser.add_argument("--out", type=Path, default=None, help="output file (default: NAME + the format's suffix)")
    parser.add_argument("--img-size", type=int, help="input resolution (default: the checkpoint's, else the model's)")
    parser.add_argument("--num-classes", type=int, help="number of classes (default: the checkpoint's, else 1000)")
    parser.add_argument("--in-chans", type=int, help="input channels (default: the checkpoint's, else the model's)")
    parser.add_argument("--exporter", choices=("dynamo", "torchscript"), default="dynamo", help="ONNX exporter")
    parser.add_argument("--tolerance", type=float, default=1e-4, help="parity tolerance (max relative difference)")
    parser.add_argument(
        "--data", help="real images (a data set as in `tokenmix train --data`) for the parity check, int8 "
        "calibration (its training split) and int8 agreement (its test split)",
    )  # fmt: skip
    parser.add_argument("--data-dir", help="data set directory (npz: the file)")
    parser.add_argument("--quantize", choices=("int8",), help="ONNX only: onnxruntime int8 quantization")
    parser.add_argument(
        "--int8-mode", choices=("auto", "dynamic", "static"), default="auto",
        help="auto: static (calibrated on --data) for Conv-heavy graphs, dynamic for MatMul-heavy ones",
    )  # fmt: skip
    parser.add_argument("--min-agreement", type=float, default=0.995, help="int8: least top-1 agreement with fp32")


def run(args: argparse.Namespace) -> int:
    from ..export.formats import SUFFIX

    if args.quantize and args.format != "onnx":
        raise ValueError(f"--quantize int8 needs --format onnx, got --format {args.format}")
    if args.quantize and not args.data:
        raise ValueError("--quantize int8 needs --data D: real images to calibrate on and to measure agreement on")
    if args.format == "onnx":  # a missing extra is one line before any work, not a traceback after it
        from ..export.extras import require

        for module in ("onnx", "onnxruntime", *(("onnxscript",) if args.exporter == "dynamo" else ())):
            require(module, "ONNX export")
    model, reference, meta = _build(args)
    out = args.out or Path(args.name + SUFFIX[args.format])
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = Path(tmp) / "fp32.onnx" if args.quantize else out
        ok = _export_and_check(args, model, reference, meta, fp32, Path(tmp))
        if args.quantize:
            ok = _quantize(args, reference, meta, fp32, out) and ok
    return 0 if ok else 1


def _build(args: argparse.Namespace):
    """(model to export, un-fused eager reference, checkpoint metadata)."""
    from ..checkpoint import model_options, read_metadata
    from ..deploy import deploy
    from ..factory import create_model

    meta = read_metadata(args.checkpoint) if Path(args.checkpoint).is_file() else {}
    flags = dict(num_classes=args.num_classes, img_size=args.img_size, in_chans=args.in_chans)
    options = {"num_classes": 1000, **model_options(args.checkpoint, meta, **flags)}  # stored config, then flags
    model = create_model(args.name, checkpoint_path=args.checkpoint, **options).eval()
    reference = copy.deepcopy(model)  # the un-fused eager model: what the artifact must reproduce
    if args.deploy:
        deploy(model, channels_last=False)  # a memory format is a runtime choice, not part of the graph
    return model, reference, meta


def _export_and_check(args, model, reference, meta: dict[str, Any], path: Path, tmp: Path) -> bool:
    from ..export import check_parity, export_model
    from ..export.formats import dynamic_size, example_input

    example = example_input(model, batch=2)
    export_model(model, args.format, path, example, exporter=args.exporter)
    if args.format == "onnx":
        from ..export.metadata import onnx_metadata, write_onnx_metadata

        write_onnx_metadata(path, onnx_metadata(reference, meta))
    dims = "batch, height and width" if dynamic_size(model) and args.format != "torchscript" else "batch"
    if not args.quantize:
        print(f"wrote {_describe_files(path, args.format)} ({args.format}{', deployed' if args.deploy else ''}, "
              f"dynamic {dims})")  # fmt: skip
    inputs, inputs_name = _parity_inputs(args, reference, meta)
    report = check_parity(reference, args.format, path, example, tolerance=args.tolerance, inputs=inputs,
                          inputs_name=inputs_name)  # fmt: skip
    print(report)
    if report.matches and not report.informative:
        return _check_random_copy(args, reference, example, tmp)
    return report.ok


def _parity_inputs(args, reference, meta):
    """Real test images when --data is given (a batch of 1 and one of up to 63), else random batches."""
    if not args.data:
        return None, "random normal inputs"
    from ..export.data import real_images

    x, _ = real_images(reference, args.data, args.data_dir, meta, "test", 64)
    return [x[:1], x[1:]], f"{len(x)} {args.data} test images"


def _check_random_copy(args, reference, example, tmp: Path) -> bool:
    """Exported the same way, a copy with random weights must match too: the check the checkpoint cannot give."""
    from ..bench.twin import randomize_weights_
    from ..deploy import deploy
    from ..export import check_parity, export_model
    from ..export.formats import SUFFIX

    randomized = randomize_weights_(copy.deepcopy(reference))
    exported = copy.deepcopy(randomized)
    if args.deploy:
        deploy(exported, channels_last=False)
    path = export_model(exported, args.format, tmp / ("random" + SUFFIX[args.format]), example, args.exporter)
    report = check_parity(randomized, args.format, path, example, tolerance=args.tolerance)
    print(f"checked instead the same model with random weights, exported the same way: {report}")
    return report.ok


def _quantize(args, reference, meta: dict[str, Any], fp32: Path, out: Path) -> bool:
    from ..export.data import real_images
    from ..export.metadata import onnx_metadata, write_onnx_metadata
    from ..export.parity import MIN_SPREAD, logit_spread
    from ..export.quantize import numpy_batches, quantize_int8, top1_agreement_onnx

    calibration, _ = real_images(reference, args.data, args.data_dir, meta, "train", CALIBRATION_IMAGES)
    mode = quantize_int8(fp32, out, args.int8_mode, numpy_batches(calibration, 32))
    write_onnx_metadata(out, {**onnx_metadata(reference, meta), "quantization": f"int8 {mode}"})
    print(
        f"wrote {_describe_files(out, 'onnx')} (onnx int8, {mode} quantization"
        + (f", calibrated on {len(calibration)} {args.data} training images" if mode == "static" else "")
        + ")"
    )
    x, _ = real_images(reference, args.data, args.data_dir, meta, "test", CHECK_IMAGES)
    if logit_spread(reference(x[:64]).detach().numpy()) < MIN_SPREAD:  # constant logits: every argmax agrees
        print("int8 top-1 agreement INCONCLUSIVE: the fp32 logits do not vary across the test images (an untrained "
              "model?), so equal classes prove nothing")  # fmt: skip
        return False
    agreement, n = top1_agreement_onnx(reference, out, x.split(64))
    verdict = "OK" if agreement >= args.min_agreement else "BELOW"
    print(f"int8 top-1 agreement {verdict}: {100 * agreement:.2f} % of {n} {args.data} test images give eager "
          f"fp32's class (required {100 * args.min_agreement:.1f} %)")  # fmt: skip
    return agreement >= args.min_agreement


def _describe_files(path: Path, fmt: str) -> str:
    if fmt != "onnx":
        return str(path)
    from ..export.formats import onnx_files

    files = onnx_files(path)
    size = sum(f.stat().st_size for f in files) / 2**20
    if len(files) == 1:
        return f"{path}, {size:.1f} MiB, one self-contained file"
    side = ", ".join(str(f) for f in files[1:])
    return f"{path} + {side}, {size:.1f} MiB: weights above 2 GB are external data; keep these files together"
