"""Every model of the issue-#4 families has the parameter count its paper prints (paper.agrees: 1 % or the
printed rounding), counted on the meta device."""

from __future__ import annotations

import pytest

from tokenmix.counting import count_macs, count_params, meta_model
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


@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in NAMES if MODELS.get(n).paper.macs_g is not None])
def test_macs_match_paper(name: str) -> None:
    """MACs at the paper's resolution within 5 % or the printed rounding. FlopCounterMode does not count
    FFTs; GFNet's cost a few percent of its MACs, inside that tolerance."""
    entry = MODELS.get(name)
    ours = count_macs(model_cfg(name), entry.paper.img_size) / 1e9
    assert agrees(ours, entry.paper.macs_g, 0.05, entry.paper), f"{name}: {ours:.2f}G vs {entry.paper.macs_g}G"
