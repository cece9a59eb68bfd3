"""Blocks are built through the checked builder and declare the parts they use: a misspelt block argument is
one ConfigError line (exit 2 from the CLI), a part the block would ignore is refused, and `tokenmix info`
prints only the parts that are built."""

from __future__ import annotations

import dataclasses

import pytest

import tokenmix
from tokenmix import MetaFormer, factory, part
from tokenmix.cli import main
from tokenmix.factory import model_cfg


def _misspelt_convmixer() -> tokenmix.ModelCfg:
    cfg = model_cfg("convmixer_768_32")
    return cfg.replace_stages(depth=1, block=part("convmixer", actt="relu"))


def test_misspelt_block_argument_is_a_config_error_naming_it() -> None:
    with pytest.raises(tokenmix.ConfigError) as err:
        MetaFormer(_misspelt_convmixer())
    message = str(err.value)
    assert "\n" not in message
    assert "'actt'" in message and "'act'" in message  # what came and what the block takes


def test_misspelt_block_argument_exits_2_from_the_cli(monkeypatch, capsys) -> None:
    monkeypatch.setattr(factory, "model_cfg", lambda name, **options: _misspelt_convmixer())  # info imports it late
    assert main(["info", "convmixer_768_32"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "unknown argument(s) ['actt']" in err


def test_a_part_the_block_does_not_use_is_refused() -> None:
    cfg = model_cfg("repmlp_resnet50_light")
    with_norm = cfg.replace(stages=(dataclasses.replace(cfg.stages[0], norm=part("layernorm")), *cfg.stages[1:]))
    with pytest.raises(tokenmix.ConfigError, match="'bottleneck' block uses no norm"):
        MetaFormer(with_norm)
    with_mlp = cfg.replace_stages(mlp=part("mlp", ratio=2.0))
    with pytest.raises(tokenmix.ConfigError, match="uses no mlp"):
        MetaFormer(with_mlp)


def test_a_block_that_uses_a_norm_needs_one() -> None:
    cfg = model_cfg("poolformer_s12").replace_stages(norm=None)
    with pytest.raises(tokenmix.ConfigError, match="'metaformer' block needs a norm"):
        MetaFormer(cfg)


def test_info_prints_only_the_built_parts(capsys) -> None:
    assert main(["info", "repmlp_resnet50_light"]) == 0
    stages = [line for line in capsys.readouterr().out.splitlines() if line.startswith("    ")]
    assert len(stages) == 4 and all(line.strip().startswith("mixer ") for line in stages)
    assert not any("norm" in line or "mlp " in line for line in stages)
    assert main(["info", "resmlp_12_224"]) == 0
    (line,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith("    ")]
    assert line.strip().startswith("mixer linear_tokens(), norm affine(), mlp mlp(ratio=4.0), layer_scale ")
