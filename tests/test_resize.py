"""Loading a checkpoint into a model built for another resolution (tokenmix.resize)."""

from __future__ import annotations

import pytest
import torch

import tokenmix
from tokenmix.counting import meta_model
from tokenmix.layers.grid import tile_groups

from .helpers import randomize_

# name: a grid-sized key and its shape at 2x the side (448 px); ResMLP shares gMLP's square-FC rule
RESIZABLE = {
    "mixer_s32_224": ("stages.0.blocks.0.token_mixer.fc1.weight", (1024, 196)),  # D_S and N both x4
    "gmlp_ti16_224": ("stages.0.blocks.0.mlp.gate.proj.weight", (784, 784)),
    "deit_tiny_patch16_224": ("stem.pos_embed", (1, 785, 192)),
    "smlpnet_t": ("stages.0.blocks.0.token_mixer.proj_h.weight", (112, 112, 1, 1)),
    "gfnet_ti": ("stages.0.blocks.0.token_mixer.complex_weight", (28, 15, 256, 2)),
}


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory) -> dict[str, str]:
    out = {}
    for name in RESIZABLE:
        path = tmp_path_factory.mktemp("ckpt") / f"{name}.safetensors"
        tokenmix.save_weights(randomize_(tokenmix.create_model(name)), path)
        out[name] = str(path)
    return out


@pytest.mark.parametrize("name", list(RESIZABLE))
def test_same_resolution_changes_nothing(name: str, checkpoints: dict[str, str]) -> None:
    saved = tokenmix.read_state_dict(checkpoints[name])
    loaded = tokenmix.create_model(name, checkpoint_path=checkpoints[name]).state_dict()
    assert all(torch.equal(saved[k], loaded[k]) for k in saved)


@pytest.mark.parametrize("name", list(RESIZABLE))
def test_double_resolution_gives_grid_sized_weights(name: str, checkpoints: dict[str, str]) -> None:
    model = tokenmix.create_model(name, img_size=448, checkpoint_path=checkpoints[name])
    key, shape = RESIZABLE[name]
    assert tuple(model.state_dict()[key].shape) == shape
    logits = meta_model(model.cfg)(torch.empty(1, 3, 448, 448, device="meta"))  # the config runs at 448
    assert logits.shape == (1, 1000)


def test_mixer_tiling_applies_the_trained_mlp_to_each_tile(checkpoints: dict[str, str]) -> None:
    """The paper's block-diagonal rule: at 2x the side, each 7 x 7 tile of the 14 x 14 grid is mixed by the
    trained token MLP alone."""
    small = tokenmix.create_model("mixer_s32_224", checkpoint_path=checkpoints["mixer_s32_224"])
    large = tokenmix.create_model("mixer_s32_224", img_size=448, checkpoint_path=checkpoints["mixer_s32_224"])
    old, new = small.stages[0].blocks[0].token_mixer, large.stages[0].blocks[0].token_mixer
    x = torch.randn(2, 196, 512)
    with torch.no_grad():
        y = new(x)
        for idx in tile_groups((14, 14), 2):
            assert torch.allclose(y[:, idx], old(x[:, idx]), atol=1e-5)


def test_unresizable_mixer_says_so(tmp_path) -> None:
    path = tmp_path / "randformer.safetensors"
    tokenmix.save_weights(tokenmix.create_model("randformer_s12"), path)
    with pytest.raises(tokenmix.ConfigError, match="random mixers cannot be resized"):
        tokenmix.create_model("randformer_s12", img_size=448, checkpoint_path=str(path))
