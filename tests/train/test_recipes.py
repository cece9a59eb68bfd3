"""Packaged recipes resolve to valid configs naming registered models and data sets; command-line values
override them and the result is what the run stores. The small-image variants build at their sizes."""

from __future__ import annotations

import json

import pytest
import torch

import tokenmix
from tokenmix.data import DATA_SETS
from tokenmix.factory import MODELS
from tokenmix.train.config import recipe_names, resolve

from .util import in_process

SMALL_VARIANTS = ["convmixer_256_8_cifar", "mixer_s4_cifar", "resmlp_12_cifar", "gmlp_ti4_cifar",
                  "poolformer_s12_cifar", "convmixer_digits", "mixer_digits"]  # fmt: skip


@pytest.mark.parametrize("name", recipe_names())
def test_packaged_recipe_is_valid(name):
    cfg = resolve(name, {})
    assert cfg.model in MODELS and cfg.data in DATA_SETS


def test_required_recipes_are_packaged():
    assert {"deit", "small", "digits"} <= set(recipe_names())


def test_flags_and_set_override_the_recipe(capsys):
    code, out, _ = in_process(capsys, "train", "--recipe", "small", "--lr", "0.01", "--set", "ema=false",
                              "--set", "clip_grad=none", "--print-config")  # fmt: skip
    assert code == 0
    cfg = json.loads(out)
    assert (cfg["lr"], cfg["ema"], cfg["clip_grad"], cfg["model"]) == (
        0.01,
        False,
        None,
        "convmixer_256_8_cifar",
    )


@pytest.mark.parametrize("name", SMALL_VARIANTS)
def test_small_variant_builds_at_its_size_without_paper_figures(name):
    model = tokenmix.create_model(name)
    x = torch.randn(2, model.in_chans, model.img_size, model.img_size)
    assert model(x).shape == (2, 10)
    paper = MODELS.get(name).paper
    assert (paper.params_m, paper.macs_g, paper.top1) == (None, None, None) and paper.source
