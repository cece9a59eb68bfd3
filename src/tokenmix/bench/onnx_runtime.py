"""The onnxruntime side of a speed comparison: the deployed model exported to ONNX, optionally quantized to
int8, run in an onnxruntime CPU session with as many threads as torch uses (the same cores as the eager sides).
"""

from __future__ import annotations

import copy
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..deploy import deploy
from ..export.extras import require
from ..export.formats import example_input, export_model
from ..export.quantize import numpy_batches, quantize_int8


def onnx_runner(
    model: nn.Module, quantize: str | None = None, calibration: torch.Tensor | None = None, threads: int | None = None
) -> tuple[Callable[[torch.Tensor], np.ndarray], str]:
    """(batch -> logits, description) for `model` (un-deployed, eval) in onnxruntime; int8 calibrates on
    `calibration` when its graph needs static quantization."""
    ort = require("onnxruntime", "the onnxruntime benchmark")
    fused = deploy(copy.deepcopy(model).eval(), channels_last=False)
    with tempfile.TemporaryDirectory() as tmp:
        path = export_model(fused, "onnx", Path(tmp) / "fp32.onnx", example_input(model), exporter="torchscript")
        label = "onnxruntime fp32"
        if quantize == "int8":
            batches = numpy_batches(calibration, 16) if calibration is not None else None
            mode = quantize_int8(path, Path(tmp) / "int8.onnx", "auto", batches)
            path, label = Path(tmp) / "int8.onnx", f"onnxruntime int8 {mode}"
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or torch.get_num_threads()
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return (lambda x: session.run(None, {name: x.numpy()})[0]), label
