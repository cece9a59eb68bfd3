"""CycleMLP and Vision Permutator: Cycle FC against torchvision's deform_conv2d (the official op), Permute-MLP
against a float64 loop, official key maps, training on digits."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torchvision.ops import deform_conv2d

import tokenmix
from tokenmix import part
from tokenmix.convert import from_tokenmix, to_tokenmix
from tokenmix.layers.mixers.cycle import CycleFC
from tokenmix.layers.mixers.permute import WeightedPermuteMlp

from .helpers import randomize_
from .training import assert_trains, shrink


@pytest.mark.parametrize("kernel", [(1, 3), (3, 1), (1, 5)])
def test_cycle_fc_equals_deform_conv2d_with_fixed_offsets(kernel: tuple[int, int]) -> None:
    fc = CycleFC(7, kernel)
    with torch.no_grad():
        fc.weight.normal_()
        fc.bias.normal_()
    x = torch.randn(2, 7, 5, 6)
    offsets = fc.offset.expand(2, -1, 5, 6)
    expected = deform_conv2d(x, offsets, fc.weight, fc.bias)  # 1x1 kernel, offsets (dy, dx) per channel
    assert torch.allclose(fc(x), expected, atol=1e-5)


def test_cycle_offsets_are_the_papers_staircase() -> None:
    dx = CycleFC(6, (1, 3)).offset.view(6, 2)
    assert dx[:, 0].tolist() == [0] * 6 and dx[:, 1].tolist() == [0, 1, -1, 0, 1, -1]


def test_permute_mlp_matches_float64_loop() -> None:
    H = W = seg = 3
    C, S = 6, 2
    mixer = randomize_(WeightedPermuteMlp(C, grid=(H, W), segment_dim=seg)).double()
    x = torch.randn(1, H, W, C, dtype=torch.float64)
    sd = mixer.state_dict()
    h, w = torch.zeros_like(x), torch.zeros_like(x)
    for g in range(seg):  # each channel segment on its own
        chans = slice(g * S, (g + 1) * S)
        for j in range(W):  # height branch: the (H, S) values of a column, mixed by Linear(H*S, H*S)
            v = x[0, :, j, chans].reshape(-1)
            h[0, :, j, chans] = (sd["mlp_h.weight"] @ v).reshape(H, S)
        for i in range(H):  # width branch: the (W, S) values of a row
            v = x[0, i, :, chans].reshape(-1)
            w[0, i, :, chans] = (sd["mlp_w.weight"] @ v).reshape(W, S)
    c = x @ sd["mlp_c.weight"].T
    a = (h + w + c).mean((1, 2))[0]
    a = torch.nn.functional.gelu(sd["reweight.fc1.weight"] @ a + sd["reweight.fc1.bias"])
    a = (sd["reweight.fc2.weight"] @ a + sd["reweight.fc2.bias"]).reshape(C, 3).softmax(-1)
    mixed = h * a[:, 0] + w * a[:, 1] + c * a[:, 2]
    expected = mixed @ sd["proj.weight"].T + sd["proj.bias"]
    assert torch.allclose(mixer(x), expected, atol=1e-10)


def test_permute_mlp_refuses_a_grid_other_than_segment_dim() -> None:
    with pytest.raises(tokenmix.ConfigError, match="segment_dim"):
        WeightedPermuteMlp(384, grid=(14, 14), segment_dim=16)


@pytest.mark.parametrize(
    ("name", "keymap", "transition_key"),
    [("vip_m7", "vip_m7", "network.2.proj.weight"), ("cyclemlp_b1", "cyclemlp", "network.5.proj.weight")],
)
def test_official_keys_round_trip(name: str, keymap: str, transition_key: str) -> None:
    with torch.device("meta"):
        sd = tokenmix.create_model(name).state_dict()
    theirs = from_tokenmix(sd, keymap)
    assert transition_key in theirs and "patch_embed.proj.weight" in theirs and "head.weight" in theirs
    assert set(to_tokenmix(theirs, keymap)) == set(sd)


def test_small_cyclemlp_trains() -> None:
    assert_trains(shrink(tokenmix.model_cfg("cyclemlp_b1"), depth=1, img_size=32, dims=(16, 32, 32, 64)))


def test_small_vip_trains() -> None:
    # 28 px / patch 7 = a 4 x 4 grid (segment_dim 4, dim 16), then 2 x 2 after the transition (segment_dim 2)
    cfg = shrink(tokenmix.model_cfg("vip_s7"), depth=1, img_size=28, dims=(16, 32, 32, 32))
    stages = tuple(
        dataclasses.replace(s, mixer=part("permute", segment_dim=4 if i == 0 else 2)) for i, s in enumerate(cfg.stages)
    )
    assert_trains(cfg.replace(stages=stages))


def test_vip_s14_is_four_equal_stages_on_a_16x16_grid_in_the_official_layout() -> None:
    """Official vip.py `vip_s14`: 14x14 patches, widths 384, segment_dim 16, no transition, so its `network` list
    holds just the four stages (29.89M parameters, as the official model counts them)."""
    with torch.device("meta"):
        model = tokenmix.create_model("vip_s14")
    assert [s.grid for s in model.stages] == [(16, 16)] * 4
    assert sum(p.numel() for p in model.parameters()) == 29_892_904
    theirs = from_tokenmix(model.state_dict(), "vip_s14")
    assert {k.split(".")[1] for k in theirs if k.startswith("network.")} == {"0", "1", "2", "3"}
    assert "network.3.2.attn.mlp_h.weight" in theirs and not any(
        k.endswith(".proj.weight") for k in theirs if ".attn." not in k and k.startswith("network.")
    )
