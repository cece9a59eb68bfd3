"""A few optimisation steps on the bundled digits (1797 8x8 images, 10 classes): the loss must fall.

This is the cheapest end-to-end check that every parameter of a model is wired into the graph with a usable
gradient; it runs on CPU in about a second per small model.
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F

from tokenmix import MetaFormer, ModelCfg
from tokenmix.data.digits import load_digits_raw


def digits(img_size: int, n: int = 64, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """n digits as (n, 3, img_size, img_size) in [-1, 1] and their labels."""
    images, labels = load_digits_raw()  # 0..16
    g = torch.Generator().manual_seed(seed)
    idx = torch.randperm(len(labels), generator=g)[:n].numpy()
    x = torch.as_tensor(images[idx], dtype=torch.float32)[:, None] / 8.0 - 1.0
    x = F.interpolate(x, size=(img_size, img_size), mode="bilinear", align_corners=False)
    return x.expand(-1, 3, -1, -1).contiguous(), torch.as_tensor(labels[idx], dtype=torch.int64)


def shrink(
    cfg: ModelCfg, depth: int | tuple[int, ...] = 1, img_size: int = 32, dims: tuple[int, ...] | None = None
) -> ModelCfg:
    """The same family with at most `depth` blocks per stage (or exactly these depths), optionally other
    widths, and 10 classes."""
    depths = depth if isinstance(depth, tuple) else tuple(min(s.depth, depth) for s in cfg.stages)
    dims = dims or tuple(s.dim for s in cfg.stages)
    stages = tuple(dataclasses.replace(s, depth=d, dim=c) for s, d, c in zip(cfg.stages, depths, dims, strict=True))
    return cfg.replace(stages=stages, img_size=img_size, num_classes=10)


def losses(cfg: ModelCfg, steps: int = 8, lr: float = 2e-3, seed: int = 0) -> list[float]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny tensors: thread start-up dominates, and the CI/dev machines are shared
    try:
        return _losses(cfg, steps, lr, seed)
    finally:
        torch.set_num_threads(threads)


def _losses(cfg: ModelCfg, steps: int, lr: float, seed: int) -> list[float]:
    torch.manual_seed(seed)
    model = MetaFormer(cfg).train()
    x, y = digits(cfg.img_size)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.0)
    out = []
    for _ in range(steps):
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        out.append(loss.item())
    return out


def assert_trains(cfg: ModelCfg, steps: int = 8, lr: float = 2e-3) -> None:
    curve = losses(cfg, steps, lr)
    assert all(torch.isfinite(torch.tensor(curve))), curve
    assert min(curve[-3:]) < 0.9 * curve[0], f"loss did not fall: {[round(v, 3) for v in curve]}"
