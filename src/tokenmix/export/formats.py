"""Writing a model out in each format, the batch dimension left dynamic.

ONNX goes through torch.onnx.export: exporter="dynamo" (torch.export + onnxscript, the supported path) or
"torchscript" (the older tracer: several times faster to run, deprecated upstream).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

FORMATS = ("onnx", "torchscript", "exported-program")
SUFFIX = {"onnx": ".onnx", "torchscript": ".pt", "exported-program": ".pt2"}
MAX_BATCH = 4096


def example_input(model: nn.Module, batch: int = 2, img_size: int | None = None) -> torch.Tensor:
    size = img_size or model.img_size
    return torch.randn(batch, model.in_chans, size, size, generator=torch.Generator().manual_seed(0))


def _batch_dim() -> dict[int, object]:
    return {0: torch.export.Dim("batch", min=1, max=MAX_BATCH)}


def export_model(model: nn.Module, fmt: str, path: Path, example: torch.Tensor, exporter: str = "dynamo") -> Path:
    """Write `model` (eval mode) to `path` in format `fmt`; `example` fixes everything but the batch size."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    model = model.eval()
    path = Path(path)
    with torch.no_grad():
        if fmt == "onnx":
            _export_onnx(model, path, example, exporter)
        elif fmt == "torchscript":
            torch.jit.save(torch.jit.trace(model, example, check_trace=False), str(path))
        else:
            program = torch.export.export(model, (example,), dynamic_shapes=(_batch_dim(),))
            torch.export.save(program, str(path))
    return path


def _export_onnx(model: nn.Module, path: Path, example: torch.Tensor, exporter: str) -> None:
    names = dict(input_names=["images"], output_names=["logits"])
    if exporter == "dynamo":
        torch.onnx.export(model, (example,), str(path), dynamic_shapes=(_batch_dim(),), dynamo=True, **names)
    elif exporter == "torchscript":
        axes = {"images": {0: "batch"}, "logits": {0: "batch"}}
        torch.onnx.export(model, (example,), str(path), dynamic_axes=axes, dynamo=False, opset_version=17, **names)
    else:
        raise ValueError(f"exporter must be 'dynamo' or 'torchscript', got {exporter!r}")
