"""Which memory format a model runs faster in: one rule for the trainer, `tokenmix bench` and `deploy()`.

The facts are data. A registered model declares, measured, the device types on which channels_last (NHWC
strides) beats contiguous NCHW, for its training step and for inference: `register_model(channels_last=
ChannelsLast(train=("cuda",)))`; create_model puts the declaration on the model (`model.channels_last`).
What a model does not declare: it trains in NCHW, and infers in channels_last where one of its stages runs
NCHW (its parts' declared layout), whose convolutions (oneDNN), pooling and GroupNorm run faster in NHWC.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

EVERY_DEVICE = ("cpu", "cuda")


@dataclass(frozen=True)
class ChannelsLast:
    """Device types ("cpu", "cuda") on which a model runs faster in channels_last.

    train: for its training step (forward, backward, optimizer), measured; default none.
    infer: for inference; None: every device if a stage runs NCHW, else none.
    """

    train: tuple[str, ...] = ()
    infer: tuple[str, ...] | None = None


def is_conv_heavy(model: nn.Module) -> bool:
    """A model with a stage that runs in NCHW: convolutions, pooling or GroupNorm on (N, C, H, W) maps."""
    return any(getattr(stage, "layout", None) == "nchw" for stage in getattr(model, "stages", ()))


def channels_last_devices(model: nn.Module, training: bool) -> tuple[str, ...]:
    """The device types on which `model` trains (or infers) faster in channels_last: declared, else the default."""
    declared = getattr(model, "channels_last", None) or ChannelsLast()
    if training:
        return declared.train
    if declared.infer is not None:
        return declared.infer
    return EVERY_DEVICE if is_conv_heavy(model) else ()


def preferred_memory_format(model: nn.Module, device: torch.device | str, training: bool) -> torch.memory_format:
    """The memory format `model` should run in on `device`, for training or for inference."""
    device_type = torch.device(device).type
    fast = device_type in channels_last_devices(model, training)
    return torch.channels_last if fast else torch.contiguous_format
