"""The skeleton and the walkers name no family, mixer or block kind: that knowledge lives in the parts (and in
the registries and model configs that name them). A string literal equal to a registered name in one of these
files is how a name-based special case starts."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import pytest

import tokenmix
from tokenmix.config import Part, StageCfg
from tokenmix.factory import MODELS
from tokenmix.registry import BLOCKS, DOWNSAMPLES, MIXERS, STEMS

SRC = Path(tokenmix.__file__).parent
SHARED = [
    "metaformer.py",
    "resize.py",
    "deploy.py",
    "config.py",
    "init.py",
    "layers/build.py",
    "layers/grid.py",
    "layers/fold.py",
    "layers/contracts.py",
    "layers/heads.py",
    "layers/blocks/base.py",
    "layers/blocks/__init__.py",
    "layers/mixers/__init__.py",
]


def _names() -> set[str]:
    families = {MODELS.get(name).family for name in MODELS.names()}
    parts = {name for registry in (MIXERS, BLOCKS, STEMS, DOWNSAMPLES) for name in registry.names()}
    # the config's own words: its field names ("mixer" is also a family) and its default parts
    fields = dataclasses.fields(StageCfg)
    vocabulary = {f.name for f in fields} | {f.default.kind for f in fields if isinstance(f.default, Part)}
    return {n.lower() for n in families | parts | set(MODELS.names())} - vocabulary


def _string_literals(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return {
        node.value.lower()
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings
    }


@pytest.mark.parametrize("relative", SHARED)
def test_shared_code_names_no_family_or_part_kind(relative: str) -> None:
    named = _string_literals(SRC / relative) & _names()
    assert not named, f"{relative} names {sorted(named)}; let the part carry that knowledge"
