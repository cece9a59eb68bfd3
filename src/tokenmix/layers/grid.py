"""Arithmetic on the token grid: the grid a layer produces, and the rules that move grid-sized weights to
another grid (tokenmix.resize asks each part for its rule; the parts use these).

Tiling is the Mixer paper's rule for token-mixing FCs (App. C): at K times the grid side there are K^2 token
groups and each gets its own copy of the trained weights (off-diagonal blocks zero), so at initialisation
the model applies the trained mixer to each group independently. A group is one K x K tile of the grid (≈:
the paper says the sequence is split into K^2 sub-sequences; which tokens form a sub-sequence is our choice).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..config import ConfigError


def conv_out(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def grid_of(x: torch.Tensor, layout: str) -> tuple[int, int] | None:
    """(H, W) of a spatial tensor; None for a token sequence ("nlc"), which has no grid of its own."""
    if layout == "nchw":  # indexed, not sliced: torch.fx can trace an index of a shape, not iterate one
        return x.shape[2], x.shape[3]
    if layout == "nhwc":
        return x.shape[1], x.shape[2]
    return None


def tile_factor(new: int, old: int, what: str) -> int:
    """K with new == K^2 * old tokens (the grid side grew K times), else a ConfigError."""
    k = math.isqrt(new // old) if new % old == 0 else 0
    if k * k * old != new:
        raise ConfigError(f"{what}: {new} tokens is not K^2 x the checkpoint's {old}; use a multiple of its side")
    return k


def side_factor(new: int, old: int, what: str) -> int:
    """K with new == K * old (one side of the grid grew K times), else a ConfigError."""
    if new % old:
        raise ConfigError(f"{what}: a side of {new} is not a multiple of the checkpoint's {old}")
    return new // old


def tile_groups(grid: tuple[int, int], k: int) -> torch.Tensor:
    """(k*k, h*w): the raster indices, on the k-times grid, of the tokens of each k x k tile."""
    H, W = grid
    h, w = H // k, W // k
    i, j = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    return torch.stack([((a * h + i) * W + (b * w + j)).reshape(-1) for a in range(k) for b in range(k)])


def block_diagonal(
    t: torch.Tensor, groups: torch.Tensor, token_axes: tuple[int, ...], hidden_axis: int | None = None
) -> torch.Tensor:
    """A copy of `t` per token group, off-diagonal blocks zero. groups: (G, n) token indices on the new axis;
    token_axes: t's token axes (one, or rows and columns of a square token matrix); hidden_axis: an axis
    (Mixer's D_S) that grows by G too, block g holding copy g."""
    G, n = groups.shape
    shape = list(t.shape)
    for axis in token_axes:
        shape[axis] = G * n
    if hidden_axis is not None:
        shape[hidden_axis] *= G
    out = t.new_zeros(shape)
    for g, idx in enumerate(groups):
        index: list = [slice(None)] * t.ndim
        if hidden_axis is not None:
            size = t.shape[hidden_axis]
            index[hidden_axis] = slice(g * size, (g + 1) * size)
        if len(token_axes) == 1:
            index[token_axes[0]] = idx
        else:
            index[token_axes[0]], index[token_axes[1]] = idx[:, None], idx[None, :]
        out[tuple(index)] = t
    return out


def tiled_token_groups(grid: tuple[int, int], old_tokens: int, what: str) -> torch.Tensor:
    """The token groups of `grid` for a token-mixing weight trained on `old_tokens` tokens."""
    return tile_groups(grid, tile_factor(grid[0] * grid[1], old_tokens, what))


def resample_map(t: torch.Tensor, size: tuple[int, int], align_corners: bool = False) -> torch.Tensor:
    """Bicubic resampling of a (1, C, h, w) map to (1, C, *size)."""
    return F.interpolate(t, size=tuple(size), mode="bicubic", align_corners=align_corners)


def resample_token_embed(t: torch.Tensor, num_tokens: int, prefix: int) -> torch.Tensor:
    """Bicubic resampling of a (1, prefix + h*w, C) square-grid embedding to num_tokens; prefix tokens (class
    token) kept as they are (as timm's `resample_abs_pos_embed`)."""
    old = math.isqrt(t.shape[1] - prefix)
    new = math.isqrt(num_tokens - prefix)
    grid = t[:, prefix:].reshape(1, old, old, -1).permute(0, 3, 1, 2)
    grid = resample_map(grid, (new, new))
    return torch.cat([t[:, :prefix], grid.permute(0, 2, 3, 1).reshape(1, new * new, -1)], dim=1)
