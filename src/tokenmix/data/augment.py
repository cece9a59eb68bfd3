"""Augmentation of whole batches of small uint8 images, driven by an explicit torch.Generator.

Random crop with zero padding and horizontal flip (the standard CIFAR recipe), done as one gather per batch
(cf. KellerJordan/cifar10-airbench's batched flip/translate). The generator comes from (seed, epoch, step), so
a batch's augmentation is a pure function of those counters and a resumed run repeats it exactly.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def crop_flip_params(
    n: int, padding: int, hflip: float, gen: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per-image crop offsets (dy, dx) in [0, 2*padding] and flip flags, drawn for a whole (global) batch."""
    dy = torch.randint(0, 2 * padding + 1, (n,), generator=gen)
    dx = torch.randint(0, 2 * padding + 1, (n,), generator=gen)
    flip = torch.rand(n, generator=gen) < hflip
    return dy, dx, flip


def crop_flip(x: torch.Tensor, padding: int, dy: torch.Tensor, dx: torch.Tensor, flip: torch.Tensor) -> torch.Tensor:
    """x: (B, C, H, W) -> the (H, W) window at (dy, dx) of x zero-padded by `padding`; mirrored if `flip`."""
    b, _, h, w = x.shape
    if padding > 0:
        x = F.pad(x, (padding,) * 4)
    rows = dy[:, None] + torch.arange(h)  # (B, H)
    cols = dx[:, None] + torch.arange(w)  # (B, W)
    cols = torch.where(flip[:, None], cols.flip(1), cols)
    batch = torch.arange(b)[:, None, None]
    out = x.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]]  # (B, H, W, C)
    return out.permute(0, 3, 1, 2).contiguous()


def normalize(x: torch.Tensor, mean: tuple[float, ...], std: tuple[float, ...]) -> torch.Tensor:
    """uint8 (B, C, H, W) -> float32 ((x / 255) - mean) / std."""
    m = torch.tensor(mean, device=x.device).view(1, -1, 1, 1)
    s = torch.tensor(std, device=x.device).view(1, -1, 1, 1)
    return (x.float().div_(255) - m) / s
