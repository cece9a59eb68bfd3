"""`tokenmix convert` between key layouts, checked against timm's own model of the same architecture."""

from __future__ import annotations

from pathlib import Path

import pytest
import timm
import torch
from safetensors.torch import load_file

import tokenmix
from tokenmix.cli import main

X = torch.randn(1, 3, 224, 224, generator=torch.Generator().manual_seed(0))


def _logits(model: torch.nn.Module) -> torch.Tensor:
    with torch.no_grad():
        return model.eval()(X)


def test_timm_checkpoint_to_tokenmix_and_back_to_timm(tmp_path: Path, capsys) -> None:
    theirs = timm.create_model("resmlp_12_224", num_classes=10)
    torch.save({"state_dict": theirs.state_dict(), "epoch": 3}, tmp_path / "train.pth.tar")  # timm's train.py form
    ours_file, timm_file = tmp_path / "ours.safetensors", tmp_path / "timm.safetensors"
    argv = [str(tmp_path / "train.pth.tar"), str(ours_file), "--model", "resmlp_12_224", "--num-classes", "10"]
    assert main(["convert", *argv]) == 0
    ours = tokenmix.create_model("resmlp_12_224", num_classes=10, checkpoint_path=str(ours_file))
    torch.testing.assert_close(_logits(ours), _logits(theirs), atol=1e-5, rtol=1e-5)
    assert main(["convert", str(ours_file), str(timm_file), "--model", "resmlp_12_224", "--to", "timm"]) == 0
    back = timm.create_model("resmlp_12_224", num_classes=10)
    back.load_state_dict(load_file(timm_file))  # strict: exactly timm's keys and shapes
    torch.testing.assert_close(_logits(back), _logits(theirs), rtol=0, atol=0)
    assert "resmlp_12_224" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("name", "layout"), [("identityformer_s12", "metaformer_official"), ("resmlp_12_224", "official")]
)
def test_official_layout_round_trips(name: str, layout: str, tmp_path: Path) -> None:
    model = tokenmix.create_model(name)
    tokenmix.save_weights(model, tmp_path / "ours.safetensors")
    assert main(["convert", str(tmp_path / "ours.safetensors"), str(tmp_path / "o.safetensors"), "--model", name,
                 "--to", layout]) == 0  # fmt: skip
    official = load_file(tmp_path / "o.safetensors")
    assert not set(official) & set(model.state_dict()) - {"head.weight", "head.bias"}  # really another layout
    again = tokenmix.create_model(name, checkpoint_path=str(tmp_path / "o.safetensors"))
    torch.testing.assert_close(_logits(again), _logits(model), rtol=0, atol=0)


def test_an_unknown_layout_is_one_line(tmp_path: Path, capsys) -> None:
    model = tokenmix.create_model("gfnet_xs")
    tokenmix.save_weights(model, tmp_path / "w.safetensors")
    argv = ["convert", str(tmp_path / "w.safetensors"), str(tmp_path / "o.safetensors"), "--model", "gfnet_xs"]
    assert main([*argv, "--to", "timm"]) == 2
    err = capsys.readouterr().err
    assert "--to for gfnet_xs must be one of" in err and len(err.strip().splitlines()) == 1
