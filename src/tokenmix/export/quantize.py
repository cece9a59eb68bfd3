"""int8 ONNX through onnxruntime's quantization tools (onnxruntime.quantization), and how often the int8 model
still picks the fp32 model's class.

Two modes, chosen from the graph's weights (not the model's name):
- dynamic: weights int8 ahead of time, activations quantized per batch at run time. No calibration; fits
  Linear/MatMul-heavy graphs (Mixer, ResMLP, gMLP, ViT), for which onnxruntime has fused int8 GEMM kernels.
- static: activation ranges measured once on calibration images (QDQ format, per-channel weights, uint8
  activations x int8 weights, the pairing of x86 VNNI kernels). Needed for Conv-heavy graphs: onnxruntime has
  no fast dynamic int8 convolution.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .extras import require
from .parity import runner

MODES = ("auto", "dynamic", "static")
GEMM_OPS = ("MatMul", "Gemm")
# Static: only the ops that carry weights. Quantizing the elementwise rest too (GELU's exported Div/Erf/Add/Mul
# chain, residual Adds) took a trained digits ConvMixer from 100 % to 25-29 % top-1 agreement with fp32.
STATIC_OPS = ["Conv", *GEMM_OPS]


def weight_counts(path: Path) -> dict[str, int]:
    """Number of weight values feeding Conv nodes and MatMul/Gemm nodes of an ONNX graph."""
    onnx = require("onnx", "int8 quantization")
    proto = onnx.load(str(path))
    sizes = {t.name: int(np.prod(t.dims)) for t in proto.graph.initializer}
    counts = {"conv": 0, "gemm": 0}
    for node in proto.graph.node:
        kind = "conv" if node.op_type == "Conv" else "gemm" if node.op_type in GEMM_OPS else None
        if kind:
            counts[kind] += sum(sizes.get(name, 0) for name in node.input)
    return counts


def choose_mode(path: Path) -> str:
    counts = weight_counts(path)
    return "static" if counts["conv"] > counts["gemm"] else "dynamic"


class _Calibration:
    """onnxruntime's CalibrationDataReader protocol over float32 batches."""

    def __init__(self, name: str, batches: Iterable[np.ndarray]) -> None:
        self.name, self.batches = name, iter(batches)

    def get_next(self) -> dict[str, np.ndarray] | None:
        batch = next(self.batches, None)
        return None if batch is None else {self.name: batch}


def quantize_int8(fp32: Path, out: Path, mode: str = "auto", calibration: Iterable[np.ndarray] | None = None) -> str:
    """Write the int8 form of the ONNX file `fp32` to `out`; returns the mode used. Static needs `calibration`
    (float32 batches, preprocessed as the model expects)."""
    if mode not in MODES:
        raise ValueError(f"int8 mode must be one of {', '.join(MODES)}, got {mode!r}")
    require("onnxruntime", "int8 quantization")
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_dynamic, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    mode = choose_mode(fp32) if mode == "auto" else mode
    if mode == "static" and calibration is None:
        raise ValueError("static int8 quantization needs calibration images: pass --data")
    with tempfile.TemporaryDirectory() as tmp:
        prepared = Path(tmp) / "prepared.onnx"  # shapes inferred and graph folded: what the quantizer expects
        quant_pre_process(str(fp32), str(prepared), skip_symbolic_shape=True)
        if mode == "dynamic":
            quantize_dynamic(str(prepared), str(out), weight_type=QuantType.QInt8, per_channel=True)
        else:
            reader = _Calibration(_input_name(prepared), calibration)
            quantize_static(
                str(prepared), str(out), reader, quant_format=QuantFormat.QDQ, per_channel=True,
                activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, op_types_to_quantize=STATIC_OPS,
            )  # fmt: skip
    return mode


def _input_name(path: Path) -> str:
    onnx = require("onnx", "int8 quantization")
    return onnx.load(str(path), load_external_data=False).graph.input[0].name


@torch.no_grad()
def top1_agreement_onnx(reference: nn.Module, path: Path, batches: Iterable[torch.Tensor]) -> tuple[float, int]:
    """(fraction of images whose argmax under the ONNX file equals eager `reference`'s fp32 argmax, images)."""
    _, run = runner("onnx", Path(path))
    same = total = 0
    for x in batches:
        same += int((np.asarray(run(x)).argmax(-1) == reference.eval()(x).argmax(-1).numpy()).sum())
        total += len(x)
    return same / max(total, 1), total


def numpy_batches(x: torch.Tensor, batch: int) -> Iterator[np.ndarray]:
    for start in range(0, len(x), batch):
        yield x[start : start + batch].numpy()
