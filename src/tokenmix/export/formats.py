"""Writing a model out in each format, the batch dimension left dynamic, and height and width too where the
model takes any size (`model.fixed_input_size` False: no weight is sized by the token grid).

ONNX goes through torch.onnx.export: exporter="dynamo" (torch.export + onnxscript, the supported path) or
"torchscript" (the older tracer: several times faster to run, deprecated upstream). The ONNX file is one
self-contained file, weights inside, unless they pass protobuf's 2 GB limit: only then do they go to a
`.onnx.data` side file, which `onnx_files` lists so that the caller can say both must travel together.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from .extras import require

FORMATS = ("onnx", "torchscript", "exported-program")
SUFFIX = {"onnx": ".onnx", "torchscript": ".pt", "exported-program": ".pt2"}
MAX_BATCH = 4096
PROTOBUF_LIMIT = 2**31  # bytes: one ONNX protobuf cannot be larger
SIZE_DIMS = {2: "height", 3: "width"}


def example_input(model: nn.Module, batch: int = 2, img_size: int | None = None) -> torch.Tensor:
    size = img_size or model.img_size
    return torch.randn(batch, model.in_chans, size, size, generator=torch.Generator().manual_seed(0))


def dynamic_size(model: nn.Module) -> bool:
    """Can the artifact take other heights and widths? Not when weights are sized by the token count."""
    return not getattr(model, "fixed_input_size", True)


def needs_external_data(model: nn.Module) -> bool:
    """Weights (with room for the graph) too large for one protobuf."""
    weights = sum(t.numel() * t.element_size() for t in model.state_dict().values())
    return weights > PROTOBUF_LIMIT - (64 << 20)


def _dims(model: nn.Module) -> dict[int, object]:
    dims: dict[int, object] = {0: torch.export.Dim("batch", min=1, max=MAX_BATCH)}
    if dynamic_size(model):  # AUTO: the exporter finds the constraints (a multiple of the patch size, ...)
        dims.update({axis: torch.export.Dim.AUTO for axis in SIZE_DIMS})
    return dims


def export_model(model: nn.Module, fmt: str, path: Path, example: torch.Tensor, exporter: str = "dynamo") -> Path:
    """Write `model` (eval mode) to `path` in format `fmt`; `example` fixes everything but the dynamic dims
    (batch; height and width for ONNX and ExportedProgram where the model allows; TorchScript traces the
    example's size)."""
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
            program = torch.export.export(model, (example,), dynamic_shapes=(_dims(model),))
            torch.export.save(program, str(path))
    return path


def _export_onnx(model: nn.Module, path: Path, example: torch.Tensor, exporter: str) -> None:
    if exporter not in ("dynamo", "torchscript"):
        raise ValueError(f"exporter must be 'dynamo' or 'torchscript', got {exporter!r}")
    require("onnx", "ONNX export")
    names = dict(input_names=["images"], output_names=["logits"])
    external = needs_external_data(model)
    if exporter == "dynamo":
        require("onnxscript", "ONNX export (the dynamo exporter)")
        torch.onnx.export(
            model, (example,), str(path), dynamic_shapes=(_dims(model),), dynamo=True, external_data=external,
            **names,
        )  # fmt: skip
        _name_size_dims(path)
    else:
        axes = {0: "batch", **(SIZE_DIMS if dynamic_size(model) else {})}
        dynamic_axes = {"images": axes, "logits": {0: "batch"}}
        torch.onnx.export(
            model, (example,), str(path), dynamic_axes=dynamic_axes, dynamo=False, opset_version=17, **names
        )


def _name_size_dims(path: Path) -> None:
    """The dynamo exporter names dynamic sizes after its symbols (s0, s53); name the input's 'height', 'width'
    (and the same symbols everywhere in the graph, so shapes stay consistent)."""
    onnx = require("onnx", "ONNX export")
    proto = onnx.load(str(path), load_external_data=False)
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    rename = {dims[axis].dim_param: name for axis, name in SIZE_DIMS.items() if dims[axis].dim_param}
    if not rename:
        return
    for value in (*proto.graph.input, *proto.graph.output, *proto.graph.value_info):
        for dim in value.type.tensor_type.shape.dim:
            if dim.dim_param in rename:
                dim.dim_param = rename[dim.dim_param]
    onnx.save(proto, str(path))


def onnx_files(path: Path) -> list[Path]:
    """The files an exported ONNX model consists of: the .onnx, and its external-data files if any."""
    onnx = require("onnx", "ONNX export")
    proto = onnx.load(str(path), load_external_data=False)
    locations = {
        entry.value
        for tensor in proto.graph.initializer
        if tensor.data_location == onnx.TensorProto.EXTERNAL
        for entry in tensor.external_data
        if entry.key == "location"
    }
    return [Path(path), *(Path(path).parent / loc for loc in sorted(locations))]
