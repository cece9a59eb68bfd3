"""Checkpoints in the official releases' key layouts load. The independent reference for those layouts is timm's
own conversion of official checkpoints (its checkpoint_filter_fn), whose result loads into timm's model."""

from __future__ import annotations

from pathlib import Path

import pytest
import timm
import torch
from timm.models.metaformer import checkpoint_filter_fn as metaformer_filter
from timm.models.mlp_mixer import checkpoint_filter_fn as mixer_filter

import tokenmix
from tokenmix.convert import KEYMAPS

from .helpers import max_rel_diff, randomize_


@torch.no_grad()
def _check(name: str, official_map: str, timm_filter, tmp_path: Path, **options) -> None:
    ours = randomize_(tokenmix.create_model(name, **options)).eval()
    official = KEYMAPS[official_map].to_theirs(ours.state_dict())
    reference = timm.create_model(name).eval()
    reference.load_state_dict(timm_filter(official, reference))  # timm reads the official layout its own way
    torch.save(official, tmp_path / "official.pth")
    loaded = tokenmix.create_model(name, checkpoint_path=tmp_path / "official.pth", **options).eval()
    x = torch.randn(2, 3, 224, 224)
    assert max_rel_diff(reference(x), loaded(x)) <= 1e-5
    assert all(torch.equal(v, loaded.state_dict()[k]) for k, v in ours.state_dict().items())


def test_official_resmlp_checkpoint_loads(tmp_path: Path) -> None:
    _check("resmlp_12_224", "resmlp_official", mixer_filter, tmp_path)


@torch.no_grad()
def test_official_poolformer_checkpoint_refuses_the_timm_head_and_converts_to_it_on_request(tmp_path: Path) -> None:
    """The official v1 file has a GroupNorm feature norm: loading it into the default (timm) head would give
    other logits, so it is refused with the option to use; the explicit map gives timm's reading of it."""
    official = KEYMAPS["poolformer_official"].to_theirs(
        randomize_(tokenmix.create_model("poolformer_s12", head="official")).state_dict()
    )
    torch.save(official, tmp_path / "official.pth")
    with pytest.raises(tokenmix.CheckpointError, match='head=\\"official\\"|head="official"'):
        tokenmix.create_model("poolformer_s12", checkpoint_path=tmp_path / "official.pth")
    reference = timm.create_model("poolformer_s12").eval()
    reference.load_state_dict(metaformer_filter(official, reference))
    ours = tokenmix.create_model("poolformer_s12").eval()
    ours.load_state_dict(KEYMAPS["poolformer_official_timm_head"].to_ours(official))
    x = torch.randn(2, 3, 224, 224)
    assert max_rel_diff(reference(x), ours(x)) <= 1e-5


@torch.no_grad()
def test_official_poolformer_checkpoint_loads_into_the_official_head(tmp_path: Path) -> None:
    ours = randomize_(tokenmix.create_model("poolformer_s12", head="official")).eval()
    official = KEYMAPS["poolformer_official"].to_theirs(ours.state_dict())
    assert "network.1.proj.weight" in official and "network.6.1.layer_scale_2" in official and "norm.weight" in official
    torch.save(official, tmp_path / "official.pth")
    loaded = tokenmix.create_model("poolformer_s12", head="official", checkpoint_path=tmp_path / "official.pth")
    assert all(torch.equal(v, loaded.state_dict()[k]) for k, v in ours.state_dict().items())
