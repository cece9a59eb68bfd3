"""Checkpoints of lukemelas/do-you-even-need-attention (`linear_tiny/base/large`) load. The reference is the key
layout of the official `vision_transformer_linear.py`, written out here: per block a channel MLP `mlp1` after
`norm1` (width C) and a token MLP `mlp2` after `norm2` (width N + 1, the class token included); the position
embedding is a (1, C, 14, 14) map plus a (1, 1, C) class-token embedding, the map resized bilinearly
(align_corners=False) to the token grid in every forward (7 x 7 for the /32 model)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import tokenmix


def _official_keys(dim: int, depth: int, patch: int) -> dict[str, tuple[int, ...]]:
    tokens = 1 + (224 // patch) ** 2
    keys = {"patch_embed.proj.weight": (dim, 3, patch, patch), "patch_embed.proj.bias": (dim,)}
    keys |= {"cls_token": (1, 1, dim), "pos_encoding.pos_embed": (1, dim, 14, 14)}
    keys |= {"pos_encoding.cls_pos_embed": (1, 1, dim)}
    for i in range(depth):
        for mlp, width in (("mlp1", dim), ("mlp2", tokens)):
            keys |= {f"blocks.{i}.{mlp}.fc1.weight": (4 * width, width), f"blocks.{i}.{mlp}.fc1.bias": (4 * width,)}
            keys |= {f"blocks.{i}.{mlp}.fc2.weight": (width, 4 * width), f"blocks.{i}.{mlp}.fc2.bias": (width,)}
        for norm, width in (("norm1", dim), ("norm2", tokens)):
            keys |= {f"blocks.{i}.{norm}.weight": (width,), f"blocks.{i}.{norm}.bias": (width,)}
    return keys | {"norm.weight": (dim,), "norm.bias": (dim,), "head.weight": (1000, dim), "head.bias": (1000,)}


@pytest.mark.parametrize(("name", "dim", "depth", "patch"), [("tiny", 192, 12, 16), ("large", 1024, 24, 32)])
@torch.no_grad()
def test_official_ffonly_checkpoint_loads(name: str, dim: int, depth: int, patch: int, tmp_path: Path) -> None:
    g = torch.Generator().manual_seed(0)
    official = {k: torch.randn(s, generator=g) for k, s in _official_keys(dim, depth, patch).items()}
    torch.save(official, tmp_path / "official.pth")
    ours = tokenmix.create_model(f"ffonly_{name}_patch{patch}_224", checkpoint_path=tmp_path / "official.pth")
    sd = ours.state_dict()
    last = f"stages.0.blocks.{depth - 1}."
    assert torch.equal(sd[last + "mlp.fc1.weight"], official[f"blocks.{depth - 1}.mlp1.fc1.weight"])
    assert torch.equal(sd[last + "norm2.bias"], official[f"blocks.{depth - 1}.norm1.bias"])
    assert torch.equal(sd[last + "token_mixer.fc2.weight"], official[f"blocks.{depth - 1}.mlp2.fc2.weight"])
    assert torch.equal(sd[last + "token_mixer.norm.weight"], official[f"blocks.{depth - 1}.norm2.weight"])
    assert torch.equal(sd["head.fc.weight"], official["head.weight"])
    grid_map = official["pos_encoding.pos_embed"]
    side = 224 // patch
    if side != 14:
        grid_map = F.interpolate(grid_map, size=(side, side), mode="bilinear", align_corners=False)
    assert torch.equal(sd["stem.pos_embed"][:, 0], official["pos_encoding.cls_pos_embed"][:, 0])
    assert torch.equal(sd["stem.pos_embed"][:, 1:], grid_map.flatten(2).transpose(1, 2))
