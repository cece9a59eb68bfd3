"""Weights files: safetensors round trip, timm files, training-checkpoint wrappers, and refusal of anything
that is not plain weights."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest
import timm
import torch

import tokenmix
from tokenmix import CheckpointError, ModelCfg
from tokenmix.checkpoint import read_metadata

from .helpers import randomize_


class _Payload:
    """Unpickling this would create a marker file: the kind of code a malicious checkpoint carries."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.fixture
def x() -> torch.Tensor:
    return torch.randn(2, 3, 224, 224)


@torch.no_grad()
def test_safetensors_round_trip_keeps_outputs_and_config(tmp_path: Path, x: torch.Tensor) -> None:
    model = randomize_(tokenmix.create_model("resmlp_12_224")).eval()
    tokenmix.save_weights(model, tmp_path / "w.safetensors")
    loaded = tokenmix.create_model("resmlp_12_224", checkpoint_path=tmp_path / "w.safetensors").eval()
    assert torch.equal(model(x), loaded(x))
    meta = read_metadata(tmp_path / "w.safetensors")
    assert meta["architecture"] == "resmlp_12_224" and ModelCfg.from_dict(meta["config"]) == model.cfg


@torch.no_grad()
def test_timm_pth_and_timm_training_checkpoint_load(tmp_path: Path, x: torch.Tensor) -> None:
    reference = randomize_(timm.create_model("gmlp_ti16_224")).eval()
    torch.save(reference.state_dict(), tmp_path / "timm.pth")
    # timm's train.py writes this: a wrapper dict with an argparse.Namespace and DDP's "module." prefix
    wrapped = {
        "epoch": 3,
        "args": argparse.Namespace(lr=0.1),
        "state_dict": {f"module.{k}": v for k, v in reference.state_dict().items()},
    }
    torch.save(wrapped, tmp_path / "train.pth.tar")
    for name in ("timm.pth", "train.pth.tar"):
        ours = tokenmix.create_model("gmlp_ti16_224", checkpoint_path=tmp_path / name).eval()
        assert torch.equal(reference(x), ours(x))


@pytest.mark.parametrize("force_unsafe_env", [False, True])
def test_malicious_pickle_is_refused_without_running_it(tmp_path: Path, monkeypatch, force_unsafe_env: bool) -> None:
    marker = tmp_path / "pwned"
    state = tokenmix.create_model("gmlp_ti16_224").state_dict()
    torch.save({"state_dict": state, "extra": _Payload(marker)}, tmp_path / "evil.pth")
    if force_unsafe_env:  # torch would run the payload on a default torch.load under this variable
        monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    with pytest.raises(CheckpointError, match="refusing to unpickle"):
        tokenmix.create_model("gmlp_ti16_224", checkpoint_path=tmp_path / "evil.pth")
    assert not marker.exists()
    # the same pickle under a .safetensors name: refused as a broken safetensors file, never unpickled
    (tmp_path / "evil.pth").rename(tmp_path / "evil.safetensors")
    with pytest.raises(CheckpointError, match="is not a readable safetensors file"):
        tokenmix.create_model("gmlp_ti16_224", checkpoint_path=tmp_path / "evil.safetensors")
    assert not marker.exists()


def test_corrupt_and_mismatched_files_name_the_problem(tmp_path: Path) -> None:
    model = tokenmix.create_model("gmlp_ti16_224")
    tokenmix.save_weights(model, tmp_path / "w.safetensors")
    data = (tmp_path / "w.safetensors").read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="cut.safetensors is not a readable safetensors file"):
        tokenmix.create_model("gmlp_ti16_224", checkpoint_path=tmp_path / "cut.safetensors")
    (tmp_path / "junk.pth").write_bytes(os.urandom(1000))
    with pytest.raises(CheckpointError, match="junk.pth is not a readable PyTorch file"):
        tokenmix.create_model("gmlp_ti16_224", checkpoint_path=tmp_path / "junk.pth")
    with pytest.raises(CheckpointError, match="does not exist"):
        tokenmix.create_model("gmlp_ti16_224", checkpoint_path=tmp_path / "missing.safetensors")
    with pytest.raises(CheckpointError, match=r"does not fit gmlp_s16_224: .*shape"):
        tokenmix.create_model("gmlp_s16_224", checkpoint_path=tmp_path / "w.safetensors")
    with pytest.raises(CheckpointError, match=r"does not fit mixer_s32_224: \d+ missing .* unexpected"):
        tokenmix.create_model("mixer_s32_224", checkpoint_path=tmp_path / "w.safetensors")
    torch.save({"encoder.layer.0.weight": torch.zeros(3)}, tmp_path / "foreign.pth")
    with pytest.raises(CheckpointError, match=r"keys are in none of the known formats \(tokenmix, mixer\)"):
        tokenmix.create_model("mixer_s32_224", checkpoint_path=tmp_path / "foreign.pth")
