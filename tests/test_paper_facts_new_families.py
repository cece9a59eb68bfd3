"""Every model of the issue-#4 families has the parameter count its paper prints (paper.agrees: 1 % or the
printed rounding), counted on the meta device."""

from __future__ import annotations

import pytest

from tokenmix.counting import count_params, meta_model
from tokenmix.factory import MODELS, model_cfg
from tokenmix.paper import agrees

FAMILIES = {
    "metaformer_baselines",
    "metaformer_hybrid",
    "ffonly",
    "gfnet",
    "cyclemlp",
    "vip",
    "smlp",
    "repmlpnet",
}
NAMES = [n for n in MODELS if MODELS.get(n).family in FAMILIES]


@pytest.mark.parametrize("name", NAMES)
def test_param_count_matches_paper(name: str) -> None:
    entry = MODELS.get(name)
    model = meta_model(model_cfg(name))
    ours = count_params(model, exclude_head=entry.paper.params_exclude_head) / 1e6
    assert agrees(ours, entry.paper.params_m, 0.01, entry.paper), f"{name}: {ours:.2f}M vs {entry.paper.params_m}M"
