"""Real images for the checks of an export: the test split for parity and int8 agreement, training images
for int8 calibration (never the images the agreement is measured on). Normalised as the checkpoint was
trained (its stored mean/std), resized to the model's input size, as `tokenmix eval` does."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


def real_images(
    model: nn.Module, data: str, data_dir: str | None, meta: dict[str, Any], split: str, limit: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """(images, labels): up to `limit` preprocessed images of `split` ("test" or "train") of data set `data`."""
    from ..data.pipeline import open_data
    from ..train.config import make_cfg

    name = model.pretrained_cfg.get("architecture", "")
    cfg = make_cfg(dict(model=name, data=data, data_dir=data_dir, img_size=model.img_size, batch_size=64))
    batches, info = open_data(cfg)
    if info.in_chans != model.in_chans:
        raise ValueError(f"the model takes {model.in_chans}-channel images, data set {data} has {info.in_chans}")
    if "mean" in meta:  # the normalisation the weights were trained with wins
        batches.mean, batches.std = tuple(meta["mean"]), tuple(meta["std"])
    if split == "test":
        pairs = batches.test_batches(64)
    else:  # un-augmented (crop_padding 0, hflip 0) training images in the seeded order of epoch 0
        pairs = (batches.train_batch(0, step) for step in range(batches.steps_per_epoch))
    xs, ys, n = [], [], 0
    for x, y in pairs:
        xs.append(x[: limit - n])
        ys.append(y[: limit - n])
        n += len(xs[-1])
        if n >= limit:
            break
    return torch.cat(xs).float().contiguous(), torch.cat(ys)
