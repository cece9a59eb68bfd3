"""Every registered mixer whose weights are sized by the token grid carries its own rule for a checkpoint from
another resolution, or refuses with the reason: a new mixer gets this test by being registered."""

from __future__ import annotations

import pytest
import torch

from tokenmix import ConfigError, MetaFormer
from tokenmix.counting import meta_model
from tokenmix.registry import MIXERS
from tokenmix.resize import fit_config, fit_weights

from ..helpers import randomize_
from .test_mixers import isotropic


def _at(kind: str, img_size: int):
    cfg = isotropic(kind)
    return cfg.replace(img_size=img_size)


def _grid_sized(kind: str) -> bool:
    small, large = (MetaFormer(_at(kind, size)).state_dict() for size in (16, 32))
    return any(small[k].shape != large[k].shape for k in small if k.startswith("stages."))


@pytest.mark.parametrize("kind", sorted(MIXERS.names()))
def test_grid_sized_mixer_fits_another_grid_or_says_why(kind: str) -> None:
    try:
        grid_sized = _grid_sized(kind)
    except ConfigError:  # the mixer's own constructor refuses the other grid (ViP's permute: side == segment_dim)
        return
    if not grid_sized:
        return
    saved = randomize_(MetaFormer(_at(kind, 16))).state_dict()
    target = _at(kind, 32)
    try:
        model = MetaFormer(fit_config(meta_model(target), saved))
        model.load_state_dict(fit_weights(model, saved))  # strict: every tensor now has the model's shape
    except ConfigError as refusal:
        assert "cannot be resized" in str(refusal) and ": " in str(refusal)  # and a reason after the colon
        return
    x = torch.randn(1, 3, 32, 32)
    assert torch.isfinite(model.eval()(x)).all()
