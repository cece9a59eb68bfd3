"""Fine-tuning from the command line: `tokenmix train --init-from` starts from a checkpoint's weights, a
1000-class checkpoint onto the 10 digit classes gets a new head with a message, and timm's optimizers and
layer-wise decay are reachable through --opt and --set layer_decay."""

from __future__ import annotations

import json

import pytest
import torch

import tokenmix
from tokenmix.checkpoint import save_weights
from tokenmix.config import ConfigError
from tokenmix.train.config import make_cfg

from .util import last_line, weights
from .util import tokenmix as run_tokenmix


@pytest.fixture(scope="module")
def imagenet_like(tmp_path_factory):
    """A 1000-class ConvMixer checkpoint for 8x8 grey images, with weights no fresh init would draw."""
    torch.manual_seed(123)
    model = tokenmix.create_model("convmixer_digits", num_classes=1000)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.02)
    path = tmp_path_factory.mktemp("init") / "in1k.safetensors"
    save_weights(model, path)
    return path, {k: v.clone() for k, v in model.state_dict().items()}


def test_1000_class_checkpoint_fine_tunes_onto_10_classes(imagenet_like, tmp_path):
    path, start = imagenet_like
    run = tmp_path / "ft"
    done = run_tokenmix(
        "train", "--model", "convmixer_digits", "--init-from", path, "--epochs", "1",
        "--lr", "1e-9", "--set", "warmup_lr=1e-10", "--set", "min_lr=0", "--opt", "lamb", "--output", run,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "another class count" in done.stderr + done.stdout
    final = weights(run / "model.safetensors")
    head = [k for k, v in start.items() if v.ndim and v.shape[0] == 1000]
    assert head and all(final[k].shape[0] == 10 for k in head)
    body = [k for k in start if k not in head and start[k].is_floating_point() and "running" not in k]
    for k in body:  # a learning rate of 1e-9: the trained weights are still the checkpoint's
        torch.testing.assert_close(final[k], start[k], rtol=0, atol=1e-6, msg=k)
    assert json.loads((run / "config.json").read_text())["opt"] == "lamb"


def test_missing_init_file_is_one_line_exit_2(tmp_path):
    done = run_tokenmix("train", "--init-from", tmp_path / "nope.safetensors", "--output", tmp_path / "r")
    assert done.returncode == 2
    assert "nope.safetensors" in last_line(done.stderr) and "Traceback" not in done.stderr


@pytest.mark.parametrize("opt", ["lamb", "lion", "adamp"])
def test_timm_optimizers_are_accepted(opt):
    assert make_cfg({"opt": opt}).opt == opt


def test_unknown_optimizer_and_bad_layer_decay_are_named():
    with pytest.raises(ConfigError, match="'lamm'.*close: lamb"):
        make_cfg({"opt": "lamm"})
    with pytest.raises(ConfigError, match="layer_decay"):
        make_cfg({"layer_decay": 1.5})


def test_layer_decay_gives_earlier_layers_smaller_rates():
    """timm's layer decay on a tokenmix model: the stem's scale is the smallest, the head's 1."""
    from timm.optim import create_optimizer_v2

    model = tokenmix.create_model("convmixer_digits")
    opt = create_optimizer_v2(model, opt="adamw", lr=1e-3, layer_decay=0.5)
    scales = sorted({g["lr_scale"] for g in opt.param_groups})
    assert scales[-1] == 1.0 and scales[0] < 0.1
