"""The model table stored with the package (what `tokenmix list` prints) agrees with the registry and with a
fresh count. Counting all models takes half a minute, so the fresh count covers the cheapest model of each
family; names, families, sizes and paper figures are checked for every model."""

from __future__ import annotations

import pytest

from tokenmix.commands.list_models import PAPER_FIELDS, count_entry, load_table
from tokenmix.factory import MODELS

STORED = load_table()


def cheapest_of_each_family() -> list[str]:
    by_family: dict[str, str] = {}
    for name, row in sorted(STORED.items(), key=lambda item: item[1]["macs"]):
        by_family.setdefault(row["family"], name)
    return sorted(by_family.values())


def test_table_lists_exactly_the_registered_models() -> None:
    missing, extra = set(MODELS) - set(STORED), set(STORED) - set(MODELS)
    assert not missing and not extra, f"run `tokenmix list --regenerate` (missing {missing}, extra {extra})"


@pytest.mark.parametrize("name", sorted(STORED))
def test_table_has_each_models_family_size_and_paper_figures(name: str) -> None:
    entry, row = MODELS.get(name), STORED[name]
    assert row["family"] == entry.family and row["img_size"] == entry.make_cfg().img_size
    assert row["paper"] == {f: getattr(entry.paper, f) for f in PAPER_FIELDS}


@pytest.mark.parametrize("name", cheapest_of_each_family())
def test_table_counts_equal_a_fresh_count(name: str) -> None:
    assert count_entry(name) == STORED[name], "run `tokenmix list --regenerate`"


def test_the_fresh_count_covers_every_family() -> None:
    assert {STORED[n]["family"] for n in cheapest_of_each_family()} == {e.family for e in map(MODELS.get, MODELS)}
