"""RepMLP-ResNet-50 (RepMLP v1 in ResNet-50 bottlenecks): the branch merge keeps eval outputs, the merged model
is the deploy config, the full models have the parameters of a hand count of the official design, and a small
one trains."""

from __future__ import annotations

import dataclasses

import pytest
import torch

import tokenmix
from tokenmix import MetaFormer
from tokenmix.layers.mixers.repmlp import conv_as_fc
from tokenmix.models.repmlp_resnet import repmlp_resnet50

from .helpers import max_rel_diff, randomize_
from .training import assert_trains, shrink

KINDS = ("light", "bottleneck")
DIMS = (64, 128, 256, 512)  # RepMLP widths 16 (light) / 16 (bottleneck, r = 2 and 4): divisible by the groups


def _small(kind: str, deploy: bool = False, img_size: int = 32) -> tokenmix.ModelCfg:
    """Two blocks per stage (the second one holds the RepMLP), 2x2 partitions: stage 2 (4x4 map at 32) has
    4 partitions and a global perceptron, stage 3 (2x2) one partition and none."""
    return shrink(repmlp_resnet50(kind, deploy, partition=(2, 2)), depth=2, img_size=img_size, dims=DIMS)


@pytest.mark.parametrize("kind", KINDS)
def test_reparameterize_keeps_eval_outputs(kind: str) -> None:
    model = randomize_(MetaFormer(_small(kind)), seed=1).eval()  # random weights and random BN statistics
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        before = model(x)
        tokenmix.reparameterize(model)
        after = model(x)
    keys = model.state_dict()
    assert not any("repconv" in k or "avg_bn" in k or "fc3_bn" in k for k in keys)
    assert max_rel_diff(before, after) <= 1e-5


@pytest.mark.parametrize("kind", KINDS)
def test_merged_model_is_the_deploy_config(kind: str) -> None:
    merged = tokenmix.reparameterize(randomize_(MetaFormer(_small(kind)), seed=2))
    deployed = MetaFormer(_small(kind, deploy=True)).eval()
    deployed.load_state_dict(merged.state_dict())  # strict: same keys and shapes
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(merged(x), deployed(x))


def test_grouped_conv_equals_its_fc() -> None:
    """conv_as_fc on a grouped (not depthwise) conv, as RepMLP v1 needs: C = 6 -> O = 6 in 3 groups, 4x5 map."""
    kernel, bias, x = torch.randn(6, 2, 3, 3), torch.randn(6), torch.randn(5, 6, 4, 5)
    weight, fc_bias = conv_as_fc(kernel, bias, (4, 5), groups=3)  # (6*20, 2*20)
    conv = torch.nn.functional.conv2d(x, kernel, bias, padding=1, groups=3)
    fc = torch.nn.functional.conv2d(x.reshape(5, 120, 1, 1), weight[..., None, None], fc_bias, groups=3)
    assert torch.allclose(fc.reshape_as(conv), conv, atol=1e-5)


def _conv_bn(i: int, o: int, k: int, groups: int = 1) -> int:
    return i // groups * o * k * k + 2 * o


def _repmlp(c: int, grid: int, groups: int, h: int = 7) -> int:
    """The official RepMLP v1: global perceptron (BN + FC-FC on C*(H/h)^2), fc3 + BN1d, conv 1/3/5 + BN."""
    n = c * (grid // h) ** 2
    gp = 2 * c + 2 * (n * n + n) if grid > h else 0
    fc3 = (c * h * h) ** 2 // groups + 2 * c * h * h
    return gp + fc3 + sum(_conv_bn(c, c, k, groups) for k in (1, 3, 5))


def _hand_count(kind: str) -> int:
    """ResNet-50 with the official block rules (repmlp_resnet.py): RepMLP only in the stride-1 blocks of the
    28x28 and 14x14 stages; light: width C/8, fc3 in 4 groups; bottleneck: width C/4, RepMLP at C/4/r, 8 groups."""
    total, c_in = _conv_bn(3, 64, 7), 64
    for stage, (depth, c, grid) in enumerate(zip((3, 4, 6, 3), (256, 512, 1024, 2048), (56, 28, 14, 7), strict=True)):
        for block in range(depth):
            plain = block == 0 or stage in (0, 3)
            w = c // 4
            if plain:
                middle = _conv_bn(w, w, 3)
            elif kind == "light":
                w = c // 8
                middle = _repmlp(w, grid, 4)
            else:
                m = w // (2 if stage == 1 else 4)
                middle = _conv_bn(w, m, 3) + _repmlp(m, grid, 8) + _conv_bn(m, w, 3)
            total += _conv_bn(c_in, w, 1) + middle + _conv_bn(w, c, 1)
            total += _conv_bn(c_in, c, 1) if block == 0 else 0
            c_in = c
    return total + 2048 * 1000 + 1000


@pytest.mark.parametrize("kind", KINDS)
def test_full_model_parameters_match_a_hand_count(kind: str) -> None:
    with torch.device("meta"):
        model = tokenmix.create_model(f"repmlp_resnet50_{kind}")
    assert sum(p.numel() for p in model.parameters()) == _hand_count(kind)
    assert model.feature_info[-1]["reduction"] == 32


def test_plain_bottleneck_stack_is_resnet50() -> None:
    """With every mixer a plain 3x3 conv at width C/4 the skeleton is ResNet-50: 25,557,032 parameters
    (torchvision's resnet50), an anchor for the stem, projections and head the hand count shares."""
    stages = tuple(
        dataclasses.replace(s, mixer=tokenmix.part("resnet_conv3x3"), block=tokenmix.part("bottleneck", stride=st))
        for s, st in zip(repmlp_resnet50("light").stages, (1, 2, 2, 2), strict=True)
    )
    with torch.device("meta"):
        model = MetaFormer(repmlp_resnet50("light").replace(stages=stages))
    assert sum(p.numel() for p in model.parameters()) == 25_557_032


@pytest.mark.parametrize("kind", KINDS)
def test_small_repmlp_resnet_trains(kind: str) -> None:
    assert_trains(_small(kind))
