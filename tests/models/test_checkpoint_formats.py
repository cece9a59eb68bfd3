"""`tokenmix info` and the README's model table name the checkpoint formats each model loads.

Expected formats written from the release notes: timm has Mixer, ResMLP, PoolFormer (v1, v2), ConvFormer/CAFormer
and ConvMixer; the official PyTorch releases cover the families timm lacks plus PoolFormer/ResMLP/MetaFormer in
their own layouts; only Mixer was released as JAX .npz.
"""

from __future__ import annotations

import pytest

from tokenmix.commands.list_models import checkpoint_formats, load_table
from tokenmix.factory import MODELS

EXPECTED = {
    "mixer_b16_224": ["timm", "JAX .npz"],
    "resmlp_12_224": ["timm", "official"],
    "poolformer_s12": ["timm", "official"],
    "poolformerv2_s12": ["timm", "official"],
    "convformer_s18": ["timm", "official"],
    "identityformer_s12": ["official"],
    "randformer_m48": ["official"],
    "convmixer_768_32": ["timm"],
    "gfnet_xs": ["official"],
    "cyclemlp_b1": ["official"],
    "ffonly_tiny_patch16_224": ["official"],
    "repmlp_resnet50_light": ["official"],
    "metaformer_pppa_s12_224": ["official"],
}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_formats_of_known_releases(name: str) -> None:
    assert checkpoint_formats(MODELS.get(name)) == EXPECTED[name]
    assert load_table()[name]["formats"] == EXPECTED[name]


def test_info_prints_the_formats(capsys) -> None:
    from tokenmix.cli import main

    assert main(["info", "mixer_b16_224"]) == 0
    assert "checkpoints: tokenmix, timm, JAX .npz" in capsys.readouterr().out
