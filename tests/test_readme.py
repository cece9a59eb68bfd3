"""The README stays true: its example runs and its model table lists every registered model."""

from __future__ import annotations

import re
from pathlib import Path

import tokenmix
from tokenmix.factory import MODELS

README = (Path(__file__).parents[1] / "README.md").read_text()


def test_adding_a_token_mixer_example_runs(capsys) -> None:
    block = README.split("## Adding a token mixer", 1)[1]
    code = re.search(r"```python\n(.*?)```", block, re.S).group(1)
    registries = (MODELS, tokenmix.registry.MIXERS)
    before = [set(registry.names()) for registry in registries]
    try:
        exec(compile(code, "README.md", "exec"), {})
        out = capsys.readouterr().out
        assert "torch.Size([1, 10])" in out
        assert "torch.Size([112, 112, 1])" in out  # the token-sized mixer's rule resized it to the 448 grid
    finally:  # leave the registries as the other tests expect them
        for registry, names in zip(registries, before, strict=True):
            for name in set(registry.names()) - names:
                registry._items.pop(name)


def test_model_table_lists_every_model() -> None:
    table = README.split("<!-- model-table", 1)[1].split("<!-- /model-table -->", 1)[0]
    listed = set(re.findall(r"^\| (\w+) \|", table, re.M))
    assert listed - {"model"} == set(tokenmix.list_models())
