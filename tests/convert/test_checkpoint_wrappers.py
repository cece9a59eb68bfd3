"""A training checkpoint holding both `model` and `model_ema` loads `model`, as the official evaluation scripts
(DeiT's, GFNet's, CycleMLP's `main.py --eval`) read checkpoint["model"]; the EMA weights only when asked."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch

import tokenmix


@pytest.fixture
def wrapped(tmp_path: Path) -> tuple[Path, dict, dict]:
    model = tokenmix.create_model("mixer_digits")
    plain = {k: torch.randn_like(v) for k, v in model.state_dict().items()}
    ema = {k: torch.randn_like(v) for k, v in model.state_dict().items()}
    path = tmp_path / "checkpoint.pth"
    torch.save({"model": plain, "model_ema": ema, "epoch": 3}, path)
    return path, plain, ema


def test_the_model_weights_load_by_default_and_the_choice_is_said(wrapped, caplog) -> None:
    path, plain, _ = wrapped
    with caplog.at_level(logging.INFO, logger="tokenmix"):
        loaded = tokenmix.create_model("mixer_digits", checkpoint_path=path).state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in plain.items())
    assert "loading its 'model' weights (it also holds 'model_ema'" in caplog.text


def test_use_ema_loads_the_ema_weights(wrapped) -> None:
    path, _, ema = wrapped
    loaded = tokenmix.create_model("mixer_digits", checkpoint_path=path, use_ema=True).state_dict()
    assert all(torch.equal(loaded[k], v) for k, v in ema.items())


def test_use_ema_on_a_file_without_ema_weights_is_an_error(tmp_path: Path) -> None:
    torch.save({"model": tokenmix.create_model("mixer_digits").state_dict()}, tmp_path / "plain.pth")
    with pytest.raises(tokenmix.CheckpointError, match="holds no EMA weights"):
        tokenmix.create_model("mixer_digits", checkpoint_path=tmp_path / "plain.pth", use_ema=True)


def test_use_ema_needs_a_training_checkpoint(tmp_path: Path) -> None:
    model = tokenmix.create_model("mixer_digits")
    tokenmix.save_weights(model, tmp_path / "w.safetensors")
    with pytest.raises(tokenmix.CheckpointError, match="holds one set of weights"):
        tokenmix.create_model("mixer_digits", checkpoint_path=tmp_path / "w.safetensors", use_ema=True)
    with pytest.raises(tokenmix.ConfigError, match="give checkpoint_path"):
        tokenmix.create_model("mixer_digits", use_ema=True)
