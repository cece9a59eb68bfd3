"""What a deployed ONNX file must carry to be used without tokenmix: the preprocessing (mean, std, input size),
the class names and the tokenmix model config, as string metadata_props (ONNX allows only strings; lists and
the config are JSON)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from torch import nn

from .extras import require

JSON_KEYS = ("mean", "std", "input_size", "classes", "tokenmix_config")


def onnx_metadata(model: nn.Module, checkpoint_meta: dict[str, Any]) -> dict[str, str]:
    """metadata_props for `model`: the normalisation and class names the checkpoint stored (else the model's
    preprocessing and class indices), the input size as (C, H, W) and the model config."""
    from ..data.pipeline import model_mean_std

    name = model.pretrained_cfg.get("architecture", "")
    if "mean" in checkpoint_meta:
        mean, std = checkpoint_meta["mean"], checkpoint_meta["std"]
    else:
        mean, std = model_mean_std(name, model.in_chans)
    classes = checkpoint_meta.get("classes") or [str(i) for i in range(model.num_classes)]
    values = dict(
        mean=list(mean),
        std=list(std),
        input_size=[model.in_chans, model.img_size, model.img_size],
        classes=list(classes),
        tokenmix_config=model.cfg.to_dict(),
    )
    props = {key: json.dumps(value) for key, value in values.items()}
    props.update(architecture=name, dynamic_height_width=str(not model.fixed_input_size).lower())
    return props


def write_onnx_metadata(path: Path, props: dict[str, str]) -> None:
    """Add `props` to the model's metadata_props, in place (external data, if any, stays where it is)."""
    onnx = require("onnx", "ONNX export")
    proto = onnx.load(str(path), load_external_data=False)
    existing = {p.key: p for p in proto.metadata_props}
    for key, value in props.items():
        entry = existing.get(key) or proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(proto, str(path))


def read_onnx_metadata(path: Path) -> dict[str, Any]:
    """metadata_props of an ONNX file, the JSON ones decoded (what a deployment reads back)."""
    onnx = require("onnx", "reading ONNX metadata")
    proto = onnx.load(str(path), load_external_data=False)
    return {p.key: json.loads(p.value) if p.key in JSON_KEYS else p.value for p in proto.metadata_props}
