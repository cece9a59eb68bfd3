"""Every model with a timm counterpart gives timm's logits for the same weights, in both directions.

Weights are randomised before each comparison (timm zero-initialises heads and starts LayerScale near zero,
which would hide wiring errors). The reference is timm itself.
"""

from __future__ import annotations

from functools import partial

import pytest
import timm
import torch
from torch import nn

import tokenmix
from tokenmix.convert import from_timm, to_timm
from tokenmix.factory import MODELS

from .helpers import max_rel_diff, randomize_

TIMM_MODELS = [n for n in tokenmix.list_models() if MODELS.get(n).timm_name]
TOL = 1e-5  # max |diff| relative to the logit scale, fp32


def _input(model: nn.Module, batch: int = 2) -> torch.Tensor:
    return torch.randn(
        batch, model.in_chans, model.img_size, model.img_size, generator=torch.Generator().manual_seed(0)
    )


@pytest.mark.parametrize("name", TIMM_MODELS)
@torch.no_grad()
def test_timm_weights_give_timm_logits(name: str) -> None:
    entry = MODELS.get(name)
    reference = randomize_(timm.create_model(entry.timm_name)).eval()
    ours = tokenmix.create_model(name).eval()
    ours.load_state_dict(from_timm(reference.state_dict(), entry.keymap))
    big = sum(p.numel() for p in ours.parameters()) > 40e6  # keep the suite's time in check: batch 1 for these
    x = _input(ours, batch=1 if big else 2)
    assert max_rel_diff(reference(x), ours(x)) <= TOL
    # and back: our randomised weights load into timm and give our logits
    ours = randomize_(tokenmix.create_model(name), seed=1).eval()
    reference.load_state_dict(to_timm(ours.state_dict(), entry.keymap))
    assert max_rel_diff(ours(x), reference(x)) <= TOL


@torch.no_grad()
def test_mixer_tanh_gelu_option_matches_timm_built_with_tanh_gelu() -> None:
    reference = randomize_(timm.create_model("mixer_s32_224", act_layer=partial(nn.GELU, approximate="tanh"))).eval()
    ours = tokenmix.create_model("mixer_s32_224", act="gelu_tanh").eval()
    ours.load_state_dict(from_timm(reference.state_dict(), "mixer"))
    default = tokenmix.create_model("mixer_s32_224").eval()
    default.load_state_dict(ours.state_dict())
    x = _input(ours)
    assert max_rel_diff(reference(x), ours(x)) <= TOL
    assert max_rel_diff(reference(x), default(x)) > 1e-4  # the flavour is visible in the logits


@torch.no_grad()
def test_poolformer_official_head_is_groupnorm_then_average() -> None:
    """The official v1 head: GroupNorm(1) on the last map, mean over H, W, Linear; timm's differs (see
    architectures.md §0.1). Reference: timm's features, normed and pooled here by hand."""
    reference = randomize_(timm.create_model("poolformer_s12")).eval()
    ours = tokenmix.create_model("poolformer_s12", head="official").eval()
    sd = from_timm(reference.state_dict(), "metaformer")
    sd["norm.weight"], sd["norm.bias"] = sd.pop("head.norm.weight"), sd.pop("head.norm.bias")
    ours.load_state_dict(sd)
    x = _input(ours)
    features = reference.forward_features(x)
    expected = reference.head.fc(
        nn.functional.group_norm(features, 1, sd["norm.weight"], sd["norm.bias"], 1e-5).mean((2, 3))
    )
    assert max_rel_diff(expected, ours(x)) <= TOL
    assert max_rel_diff(reference(x), ours(x)) > 1e-3


@pytest.mark.parametrize("name", ["poolformer_s12", "convmixer_1024_20_ks9_p14"])
@torch.no_grad()
def test_resolution_free_models_match_timm_at_other_sizes(name: str) -> None:
    entry = MODELS.get(name)
    reference = randomize_(timm.create_model(entry.timm_name)).eval()
    ours = tokenmix.create_model(name, img_size=160).eval()
    ours.load_state_dict(from_timm(reference.state_dict(), entry.keymap))
    x = torch.randn(1, 3, 160, 160)
    assert max_rel_diff(reference(x), ours(x)) <= TOL


@torch.no_grad()
def test_forward_features_and_pre_logits_match_timm() -> None:
    reference = randomize_(timm.create_model("resmlp_12_224")).eval()
    ours = tokenmix.create_model("resmlp_12_224").eval()
    ours.load_state_dict(from_timm(reference.state_dict(), "resmlp"))
    x = _input(ours)
    assert max_rel_diff(reference.forward_features(x), ours.forward_features(x)) <= TOL
    pre = ours.forward_head(ours.forward_features(x), pre_logits=True)
    assert max_rel_diff(reference.forward_head(reference.forward_features(x), pre_logits=True), pre) <= TOL
