"""tokenmix.memory_format: one rule, declared as data, obeyed by the trainer, the bench and deploy().

The devices are named, not used: the rule reads only the device type, so its CUDA branch is checked on CPU.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

import tokenmix
from tokenmix.bench.measure import Settings, fast_form
from tokenmix.memory_format import ChannelsLast, preferred_memory_format
from tokenmix.train.runtime import memory_format

CL, NCHW = torch.channels_last, torch.contiguous_format
EVERY = ("cpu", "cuda")


def weights_format(model: nn.Module) -> torch.memory_format:
    """channels_last if every conv weight has NHWC strides, NCHW if none has. Only weights with more than one
    input channel and a spatial kernel tell the two apart (depthwise and 1x1 kernels are both at once)."""
    weights = [p for p in model.parameters() if p.ndim == 4 and p.shape[1] > 1 and p.shape[2] * p.shape[3] > 1]
    assert weights, "the model has no convolution to look at"
    cl = [w.is_contiguous(memory_format=CL) for w in weights]
    assert all(cl) or not any(cl), "mixed memory formats"
    return CL if all(cl) else NCHW


def convmixer(channels_last: ChannelsLast | None = None) -> nn.Module:
    model = tokenmix.create_model("convmixer_256_8_cifar")
    if channels_last is not None:
        model.channels_last = channels_last
    return model


@pytest.mark.parametrize("device", ["cpu", "cuda"])
@pytest.mark.parametrize("declared", [ChannelsLast(train=("cpu", "cuda"), infer=()), ChannelsLast(infer=EVERY)])
def test_trainer_bench_and_deploy_obey_the_declaration(declared: ChannelsLast, device: str) -> None:
    model = convmixer(declared)
    train = CL if device in declared.train else NCHW
    infer = CL if device in declared.infer else NCHW
    assert memory_format("auto", model, torch.device(device)) == train
    assert preferred_memory_format(model, device, training=False) == infer
    if device == "cpu":  # the consumers that move weights: on the device the model is on
        assert weights_format(fast_form(model, Settings(deploy=False), training=True)) == train
        assert weights_format(fast_form(model, Settings(deploy=False), training=False)) == infer
        assert weights_format(fast_form(model, Settings(deploy=True), training=False)) == infer
        assert weights_format(tokenmix.deploy(model)) == infer


def test_trainer_setting_on_and_off_override_the_rule() -> None:
    model = convmixer(ChannelsLast(train=("cpu",)))
    assert memory_format("off", model, torch.device("cpu")) == NCHW
    assert memory_format("on", convmixer(ChannelsLast()), torch.device("cpu")) == CL


def test_convmixer_entries_carry_their_measurements_into_the_model() -> None:
    """models/convmixer.py: every ConvMixer trains channels_last on CUDA (H100); on CPU only the 32x32
    ConvMixer-256/8 models (patch 2 and 4) were measured faster, so the others (the 8x8 digits default among
    them) stay NCHW there."""
    for name in tokenmix.list_models("convmixer_*"):
        with torch.device("meta"):
            model = tokenmix.create_model(name)
        assert memory_format("auto", model, torch.device("cuda")) == CL, name
        on_cpu = CL if name in ("convmixer_256_8_cifar", "convmixer_256_8_p4_cifar") else NCHW
        assert memory_format("auto", model, torch.device("cpu")) == on_cpu, name


@pytest.mark.parametrize("name", ["poolformer_s12", "mixer_s16_224", "vit_small_patch16_224"])
def test_undeclared_models_infer_channels_last_exactly_when_a_stage_runs_nchw(name: str) -> None:
    """The default: convolutions, pooling and GroupNorm on (N, C, H, W) maps run faster in NHWC; token
    sequences (N, L, C) have no channels_last; training stays NCHW until measured."""
    with torch.device("meta"):
        model = tokenmix.create_model(name)
    conv_stage = any(isinstance(m, (nn.Conv2d, nn.AvgPool2d)) for m in model.stages.modules())
    for device in ("cpu", "cuda"):
        assert preferred_memory_format(model, device, training=False) == (CL if conv_stage else NCHW)
        assert memory_format("auto", model, torch.device(device)) == NCHW


def test_poolformer_cifar_entry_trains_channels_last_on_cpu_only() -> None:
    """models/poolformer.py: measured 1.97x (bf16) and 1.37x (fp32) on CPU once its 1x1 convs ran as GEMMs;
    CUDA was not measured since, so it stays NCHW there."""
    with torch.device("meta"):
        model = tokenmix.create_model("poolformer_s12_cifar")
    assert memory_format("auto", model, torch.device("cpu")) == CL
    assert memory_format("auto", model, torch.device("cuda")) == NCHW
