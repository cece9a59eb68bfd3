"""A run folder or a tokenmix checkpoint -> the model (its config travels in the weights' metadata) and the
images its ERF is averaged over (the run's test images where the run names built-in or npz data)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..checkpoint import load_checkpoint, read_metadata
from ..config import ConfigError, ModelCfg
from ..metaformer import MetaFormer


def find_weights(target: Path) -> Path:
    if target.is_dir():
        for name in ("model.safetensors", "ema.safetensors"):
            if (target / name).is_file():
                return target / name
        raise FileNotFoundError(f"{target}: expected a run folder with model.safetensors, found none")
    if target.suffix != ".safetensors" or not target.is_file():
        raise FileNotFoundError(f"expected a run folder or a .safetensors checkpoint, got {target}")
    return target


def load_model(target: Path) -> tuple[MetaFormer, dict[str, Any]]:
    """The model of a tokenmix checkpoint, weights loaded, in eval mode; and the checkpoint's metadata."""
    path = find_weights(target)
    meta = read_metadata(path)
    if "config" not in meta:
        raise ConfigError(f"{path}: expected a tokenmix checkpoint with its model config in the metadata")
    model = MetaFormer(ModelCfg.from_dict(meta["config"]))
    load_checkpoint(model, path)  # the budget, dtype and shape checks of every other load: one line if it fails
    return model.eval(), meta


def run_test_images(target: Path, meta: dict[str, Any], count: int) -> torch.Tensor | None:
    """Up to `count` normalised test images of the run's data set (digits or npz), or None if not at hand."""
    config_path = (target if target.is_dir() else target.parent) / "config.json"
    if not config_path.is_file() or "mean" not in meta:
        return None
    run = json.loads(config_path.read_text())
    if run.get("data") == "digits":
        from ..data.digits import load_digits_arrays

        x = load_digits_arrays().x_test[:count]
    elif run.get("data") == "npz" and run.get("data_dir"):
        with np.load(run["data_dir"], allow_pickle=False) as f:
            x = torch.from_numpy(f["x_test"][:count])
        x = x[:, None] if x.ndim == 3 else x.permute(0, 3, 1, 2)
    else:
        return None
    mean = torch.tensor(meta["mean"]).view(1, -1, 1, 1)  # read_metadata decodes the JSON fields
    std = torch.tensor(meta["std"]).view(1, -1, 1, 1)
    return (x.float() / 255 - mean) / std


def erf_images(target: Path, model: MetaFormer, meta: dict[str, Any], count: int, seed: int = 0) -> torch.Tensor:
    """The run's test images, or standard-normal noise at the model's input size (Luo et al.'s own choice)."""
    images = run_test_images(target, meta, count)
    if images is not None and tuple(images.shape[1:]) == (model.in_chans, model.img_size, model.img_size):
        return images
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(count, model.in_chans, model.img_size, model.img_size, generator=generator)
