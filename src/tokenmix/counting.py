"""Parameters and MACs, counted rather than quoted.

MACs come from torch's FlopCounterMode (2 FLOPs per multiply-accumulate, matmuls and convolutions only; norms,
activations and pooling are not counted, as in the papers' fvcore tables). Counting runs on the meta device:
no memory, no time, and attention is counted through its math decomposition, which the fused CPU kernel hides.
"""

from __future__ import annotations

import torch
from torch.utils.flop_counter import FlopCounterMode

from .config import ModelCfg
from .metaformer import MetaFormer


def count_params(model: torch.nn.Module, exclude_head: bool = False) -> int:
    total = sum(p.numel() for p in model.parameters())
    if exclude_head and isinstance(model, MetaFormer):
        total -= sum(p.numel() for p in model.head.fc.parameters())
    return total


def meta_model(cfg: ModelCfg) -> MetaFormer:
    with torch.device("meta"):
        return MetaFormer(cfg).eval()


def count_macs(cfg: ModelCfg, img_size: int | None = None) -> int:
    """Multiply-accumulates of one forward pass on a single image of `img_size` (default: the config's)."""
    model = meta_model(cfg if img_size is None else cfg.replace(img_size=img_size))
    size = model.img_size
    with FlopCounterMode(display=False) as counter:
        model(torch.empty(1, cfg.in_chans, size, size, device="meta"))
    return counter.get_total_flops() // 2


def stage_shapes(cfg: ModelCfg, img_size: int | None = None) -> list[tuple[str, tuple[int, ...]]]:
    """(name, output shape at batch 1) for the stem and each stage."""
    model = meta_model(cfg if img_size is None else cfg.replace(img_size=img_size))
    x = torch.empty(1, cfg.in_chans, model.img_size, model.img_size, device="meta")
    shapes = []
    x = model.stem(x)
    shapes.append((f"stem ({model.stem.layout})", tuple(x.shape)))
    for i, stage in enumerate(model.stages):
        x = stage(x)
        shapes.append((f"stages.{i} ({stage.layout}, {len(stage.blocks)} blocks)", tuple(x.shape)))
    return shapes
