"""Loading a checkpoint trained at another resolution into a model whose weights are sized by its token grid.

`create_model(name, img_size=N, checkpoint_path=F)` goes through here. Each resolution-tied weight is adapted
by one documented rule, and every rule is the identity when the resolution does not change:

- Token-mixing FCs (Mixer's token MLP, ResMLP's linear layer, gMLP's gate, sMLP's row/column FCs): the
  Mixer paper's block-diagonal tiling (App. C): at K times the grid side there are K^2 token groups and each
  gets its own copy of the trained weights (off-diagonal blocks zero), so at initialisation the model applies
  the trained mixer to each group independently. A group is one K x K tile of the grid (≈: the paper says the
  sequence is split into K^2 sub-sequences; which tokens form a sub-sequence is our choice). Mixer's hidden
  width D_S grows to K^2 D_S with it, so the config's token-MLP ratio is scaled before the model is built.
- Position embeddings (ViT/DeiT, FF-only ViT, GFNet, the PoolFormer hybrids): bicubic interpolation of the
  grid part; class-token embeddings are kept (as timm's `resample_abs_pos_embed`).
- GFNet's global filters: bicubic interpolation (align_corners=True) of the (h, w//2+1) half-spectrum, real
  and imaginary parts as channels: the official fine-tuning code's rule (GFNet `main_gfnet.py` ✔).
Not resizable (an error says so): ViP's permute-MLP (its grid side must equal segment_dim), RandFormer's
random matrix, and FF-only ViT's token MLP (it mixes the class token too).
"""

from __future__ import annotations

import math
from dataclasses import replace

import torch
import torch.nn.functional as F

from .config import ConfigError, ModelCfg
from .metaformer import MetaFormer

TILED_2D = {"token_mlp", "linear_tokens", "spatial_gating"}  # mixers whose FCs act on the H*W token axis
TOKEN_LEAVES = {"fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "proj.weight", "proj.bias"}
NOT_RESIZABLE = {"permute", "random", "token_ff"}


def _tile_factor(new: int, old: int, what: str) -> int:
    k = math.isqrt(new // old) if new % old == 0 else 0
    if k * k * old != new:
        raise ConfigError(f"{what}: {new} tokens is not K^2 x the checkpoint's {old}; use a multiple of its side")
    return k


def fit_config(model: MetaFormer, sd: dict[str, torch.Tensor]) -> ModelCfg:
    """model.cfg with Mixer's token-MLP widths scaled to the checkpoint's tiling (no-op at the same size).
    `model` may be on the meta device: only its token grids are read."""
    cfg = model.cfg
    stages = list(cfg.stages)
    for s, stage in enumerate(cfg.stages):
        key = f"stages.{s}.blocks.0.token_mixer.fc1.weight"
        if stage.mixer.kind != "token_mlp" or key not in sd:
            continue
        new_tokens = model.stages[s].grid[0] * model.stages[s].grid[1]
        k = _tile_factor(new_tokens, sd[key].shape[1], key)
        if k > 1:
            ratio = stage.mixer.args.get("ratio", 0.5) * k * k
            stages[s] = replace(stage, mixer=replace(stage.mixer, args={**stage.mixer.args, "ratio": ratio}))
    return cfg.replace(stages=tuple(stages))


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


def resample_pos_embed(t: torch.Tensor, new_shape: torch.Size, prefix: int) -> torch.Tensor:
    """Bicubic resampling of a (1, prefix + h*w, C) or (1, C, h, w) position embedding."""
    if t.ndim == 4:
        return F.interpolate(t, size=tuple(new_shape[2:]), mode="bicubic", align_corners=False)
    old = math.isqrt(t.shape[1] - prefix)
    new = math.isqrt(new_shape[1] - prefix)
    grid = t[:, prefix:].reshape(1, old, old, -1).permute(0, 3, 1, 2)
    grid = F.interpolate(grid, size=(new, new), mode="bicubic", align_corners=False)
    return torch.cat([t[:, :prefix], grid.permute(0, 2, 3, 1).reshape(1, new * new, -1)], dim=1)


def fit_weights(model: MetaFormer, state_dict: dict[str, torch.Tensor]) -> dict:
    """The (tokenmix-keyed) checkpoint with every resolution-tied tensor adapted to `model`'s shapes."""
    ours = model.state_dict()
    sd = dict(state_dict)
    for key, value in list(sd.items()):
        if key not in ours or ours[key].shape == value.shape:
            continue
        sd[key] = _fit(model, key, value, ours[key].shape)
    return sd


def _fit(model: MetaFormer, key: str, t: torch.Tensor, shape: torch.Size) -> torch.Tensor:
    if key.endswith("pos_embed"):
        return resample_pos_embed(t, shape, model.num_prefix_tokens if key.startswith("stem") else 0)
    parts = key.split(".")
    owner = next((p for p in ("token_mixer", "gate") if p in parts), None)
    if parts[0] != "stages" or owner is None:  # not tied to the resolution: the strict load reports it
        return t
    stage_index = int(parts[1])
    kind = model.cfg.stages[stage_index].mixer.kind
    leaf = ".".join(parts[parts.index(owner) + 1 :])
    if kind in NOT_RESIZABLE:
        raise ConfigError(f"{kind} mixers cannot be resized to another resolution ({key})")
    if kind == "global_filter":  # (h, w//2+1, C, 2): interpolate the spectrum, re and im as channels
        h, w, c, _ = t.shape
        spectrum = t.reshape(1, h, w, 2 * c).permute(0, 3, 1, 2)
        spectrum = F.interpolate(spectrum, size=tuple(shape[:2]), mode="bicubic", align_corners=True)
        return spectrum.permute(0, 2, 3, 1).reshape(shape)
    if kind == "sparse_mlp":  # row / column FCs (W, W, 1, 1) and biases: tile along one side
        k = shape[0] // t.shape[0]
        if k * t.shape[0] != shape[0]:
            raise ConfigError(f"{key}: a side of {shape[0]} is not a multiple of the checkpoint's {t.shape[0]}")
        return block_diagonal(t, torch.arange(shape[0]).reshape(k, -1), (0, 1) if t.ndim == 4 else (0,))
    if kind not in TILED_2D:
        raise ConfigError(f"cannot resize {key} of a {kind} mixer")
    if leaf not in TOKEN_LEAVES:  # e.g. the gate's channel norm: not tied to the resolution
        return t
    if leaf == "fc1.bias":  # Mixer's hidden units: one copy per group
        return t.repeat(shape[0] // t.shape[0])
    grid = model.stages[stage_index].grid
    old_tokens = t.shape[1] if leaf == "fc1.weight" else t.shape[0]
    groups = tile_groups(grid, _tile_factor(grid[0] * grid[1], old_tokens, key))
    if leaf == "fc1.weight":  # (D_S, N): tokens in, hidden out
        return block_diagonal(t, groups, (1,), hidden_axis=0)
    if leaf == "fc2.weight":  # (N, D_S)
        return block_diagonal(t, groups, (0,), hidden_axis=1)
    if leaf in ("fc2.bias", "proj.bias"):
        return block_diagonal(t, groups, (0,))
    if leaf == "proj.weight":  # (N, N)
        return block_diagonal(t, groups, (0, 1))
    raise ConfigError(f"cannot resize {key}")
