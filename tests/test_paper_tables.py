"""Our counted parameters and MACs agree with each paper's table.

Rule (tokenmix.paper): within 1 % (params) or 5 % (MACs) of the printed figure, or half a unit of its last
printed digit when the paper rounds coarser than that; a documented deviation may widen it, with its reason.
"""

from __future__ import annotations

import pytest

import tokenmix
from tokenmix.counting import count_macs, count_params, meta_model
from tokenmix.factory import MODELS
from tokenmix.paper import agrees, tolerance

ALL = tokenmix.list_models()


@pytest.mark.parametrize("name", ALL)
def test_parameter_count_matches_paper(name: str) -> None:
    facts = MODELS.get(name).paper
    model = meta_model(MODELS.get(name).make_cfg())
    ours = count_params(model, exclude_head=facts.params_exclude_head) / 1e6
    assert agrees(ours, facts.params_m, 0.01, facts), f"{name}: {ours:.2f}M counted, paper {facts.params_m}M"


@pytest.mark.parametrize("name", [n for n in ALL if MODELS.get(n).paper.macs_g])
def test_mac_count_matches_paper(name: str) -> None:
    facts = MODELS.get(name).paper
    ours = count_macs(MODELS.get(name).make_cfg(), facts.img_size) / 1e9
    assert agrees(ours, facts.macs_g, 0.05, facts), f"{name}: {ours:.2f}G counted, paper {facts.macs_g}G"


@pytest.mark.parametrize("name", ALL)
def test_paper_facts_name_a_source_and_widen_tolerance_only_with_a_reason(name: str) -> None:
    facts = MODELS.get(name).paper
    assert facts.source and facts.macs_kind in ("MACs", "FLOPs (=MACs)")
    assert facts.deviation_tolerance == 0.0 or facts.deviation, "a widened tolerance needs its reason"


def test_tolerance_follows_the_printed_precision() -> None:
    assert tolerance("19", 0.01) == 0.5
    assert tolerance("11.9", 0.01) == pytest.approx(0.119)
    assert tolerance("1.8", 0.05) == pytest.approx(0.09)


def test_mixer_b16_counts_match_hand_arithmetic() -> None:
    """12 blocks of (token MLP 196->384->196, channel MLP 768->3072->768, 2 LayerNorms), stem, norm, head."""
    C, S, DS, DC, L = 768, 196, 384, 3072, 12
    block = (S * DS + DS + DS * S + S) + (C * DC + DC + DC * C + C) + 4 * C
    total = 3 * 16 * 16 * C + C + L * block + 2 * C + C * 1000 + 1000
    model = meta_model(MODELS.get("mixer_b16_224").make_cfg())
    assert count_params(model) == total
    macs = L * (C * (S * DS * 2) + S * (C * DC * 2)) + 196 * 3 * 256 * C + C * 1000
    assert count_macs(MODELS.get("mixer_b16_224").make_cfg()) == macs
