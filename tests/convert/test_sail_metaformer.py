"""Checkpoints in sail-sg/metaformer's key layout (IdentityFormer, RandFormer, PoolFormerV2, ConvFormer, CAFormer)
load. References: timm's own conversion of that layout (its checkpoint_filter_fn) for the models timm has, and a
key list written here from the official `metaformer_baselines.py` for the two it lacks."""

from __future__ import annotations

from pathlib import Path

import pytest
import timm
import torch
from timm.models.metaformer import checkpoint_filter_fn

import tokenmix
from tokenmix.convert import KEYMAPS
from tokenmix.factory import MODELS

from ..helpers import max_rel_diff, randomize_


@pytest.mark.parametrize("name", ["poolformerv2_s12", "convformer_s18", "caformer_s18"])
@torch.no_grad()
def test_official_metaformer_checkpoint_matches_timm_reading_it(name: str, tmp_path: Path) -> None:
    ours = randomize_(tokenmix.create_model(name)).eval()
    (official_map,) = MODELS.get(name).official_keymaps
    official = KEYMAPS[official_map].to_theirs(ours.state_dict())
    assert "downsample_layers.0.post_norm.weight" in official and "stages.3.1.norm2.weight" in official
    reference = timm.create_model(name).eval()
    reference.load_state_dict(checkpoint_filter_fn(official, reference))
    torch.save(official, tmp_path / "official.pth")
    loaded = tokenmix.create_model(name, checkpoint_path=tmp_path / "official.pth").eval()
    x = torch.randn(2, 3, 224, 224)
    assert max_rel_diff(reference(x), loaded(x)) <= 1e-5
    assert all(torch.equal(v, loaded.state_dict()[k]) for k, v in ours.state_dict().items())


def _official_s12_keys(random_stages: tuple[int, ...]) -> dict[str, tuple[int, ...]]:
    """identityformer_s12 / randformer_s12 in the official layout: depths (2, 2, 6, 2), widths (64, 128, 320, 512),
    bias-free LayerNormGeneral norms, StarReLU MLPs without biases, ResScale in stages 3-4, LayerNorm + Linear head;
    RandomMixing holds an N x N `random_matrix` (N = 196, then 49)."""
    dims, depths, tokens = (64, 128, 320, 512), (2, 2, 6, 2), (3136, 784, 196, 49)
    keys = {"downsample_layers.0.conv.weight": (64, 3, 7, 7), "downsample_layers.0.conv.bias": (64,)}
    keys["downsample_layers.0.post_norm.weight"] = (64,)
    for i in range(1, 4):
        keys[f"downsample_layers.{i}.pre_norm.weight"] = (dims[i - 1],)
        keys[f"downsample_layers.{i}.conv.weight"] = (dims[i], dims[i - 1], 3, 3)
        keys[f"downsample_layers.{i}.conv.bias"] = (dims[i],)
    for i, (dim, depth) in enumerate(zip(dims, depths, strict=True)):
        for j in range(depth):
            b = f"stages.{i}.{j}."
            keys |= {b + "norm1.weight": (dim,), b + "norm2.weight": (dim,)}
            keys |= {b + "mlp.fc1.weight": (4 * dim, dim), b + "mlp.fc2.weight": (dim, 4 * dim)}
            keys |= {b + "mlp.act.scale": (1,), b + "mlp.act.bias": (1,)}
            if i >= 2:
                keys |= {b + "res_scale1.scale": (dim,), b + "res_scale2.scale": (dim,)}
            if i in random_stages:
                keys[b + "token_mixer.random_matrix"] = (tokens[i], tokens[i])
    return keys | {"norm.weight": (512,), "norm.bias": (512,), "head.weight": (1000, 512), "head.bias": (1000,)}


@pytest.mark.parametrize(("name", "random_stages"), [("identityformer_s12", ()), ("randformer_s12", (2, 3))])
@torch.no_grad()
def test_official_identityformer_and_randformer_checkpoints_load(name, random_stages, tmp_path: Path) -> None:
    g = torch.Generator().manual_seed(0)
    official = {k: torch.randn(shape, generator=g) for k, shape in _official_s12_keys(random_stages).items()}
    torch.save(official, tmp_path / "official.pth")
    model = tokenmix.create_model(name, checkpoint_path=tmp_path / "official.pth")
    ours = model.state_dict()
    assert len(ours) == len(official)
    assert torch.equal(ours["stem.norm.weight"], official["downsample_layers.0.post_norm.weight"])
    assert torch.equal(ours["stages.2.downsample.norm.weight"], official["downsample_layers.2.pre_norm.weight"])
    assert torch.equal(ours["stages.2.blocks.5.mlp.fc1.weight"].flatten(1), official["stages.2.5.mlp.fc1.weight"])
    assert torch.equal(ours["stages.3.blocks.1.res_scale2.scale"], official["stages.3.1.res_scale2.scale"])
    assert torch.equal(ours["head.norm.bias"], official["norm.bias"])
    assert torch.equal(ours["head.fc.weight"], official["head.weight"])
    if random_stages:
        random_matrix = official["stages.3.0.token_mixer.random_matrix"]
        assert torch.equal(ours["stages.3.blocks.0.token_mixer.random_matrix"], random_matrix)
