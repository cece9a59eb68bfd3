"""Configs are data: every registered model's config survives JSON, and a Part is immutable and hashable."""

from __future__ import annotations

import copy
import pickle

import pytest

import tokenmix
from tokenmix import ModelCfg, part
from tokenmix.factory import model_cfg


@pytest.mark.parametrize("name", tokenmix.list_models())
def test_every_registered_config_round_trips_through_json(name: str) -> None:
    cfg = model_cfg(name)
    again = ModelCfg.from_json(cfg.to_json())
    assert again == cfg and hash(again) == hash(cfg)
    assert again.to_json() == cfg.to_json()


def test_part_arguments_are_read_only() -> None:
    p = part("pool", pool_size=3)
    with pytest.raises(TypeError, match="read-only"):
        p.args["pool_size"] = 5
    with pytest.raises(TypeError, match="read-only"):
        p.args.update(pool_size=5)
    assert p.with_args(pool_size=5).args == {"pool_size": 5} and p.args == {"pool_size": 3}


def test_parts_hash_by_value_with_nested_parts_and_lists() -> None:
    a = part("conv", kernel_size=7, norm=part("layernorm", eps=1e-6), sizes=[1, 3])
    b = part("conv", kernel_size=7, norm=part("layernorm", eps=1e-6), sizes=(1, 3))
    assert a == b and hash(a) == hash(b) and len({a, b, part("conv", kernel_size=5)}) == 2
    assert copy.deepcopy(a) == a and pickle.loads(pickle.dumps(a)) == a
