"""Conv + BatchNorm units (RepMLPNet's stems, downsampling and FFN) and the BN folding that every
re-parameterisation needs."""

from __future__ import annotations

import torch
from torch import nn

from ..registry import DOWNSAMPLES, MLPS, STEMS
from .acts import make_act
from .grid import conv_out


def fold_bn(weight: torch.Tensor, bn: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """(W', b') of a bias-free conv/FC followed by `bn` in eval mode: W' = W g / s, b' = beta - mu g / s.

    If the conv has a multiple of bn's channels (RepMLP's fc3: S * h * w outputs, BN over S), each BN channel
    covers a contiguous block of outputs.
    """
    scale = bn.weight / (bn.running_var + bn.eps).sqrt()
    bias = bn.bias - bn.running_mean * scale
    repeat = weight.shape[0] // scale.shape[0]
    scale, bias = scale.repeat_interleave(repeat), bias.repeat_interleave(repeat)
    return weight * scale.view(-1, *([1] * (weight.ndim - 1))), bias


class ConvBn(nn.Module):
    """conv (no bias) -> BatchNorm, keys `conv`, `bn` (as RepMLP's `conv_bn`)."""

    def __init__(self, in_dim: int, dim: int, kernel_size: int, stride: int = 1, groups: int = 1) -> None:
        super().__init__()
        padding = kernel_size // 2 if stride == 1 else 0
        self.conv = nn.Conv2d(in_dim, dim, kernel_size, stride=stride, padding=padding, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


class ConvBnAct(nn.Module):
    """Non-overlapping k x k / k conv (no bias) -> BatchNorm -> act: RepMLPNet's stem and downsampling."""

    layout = "nchw"

    def __init__(self, in_dim: int, dim: int, kernel_size: int, act: str = "relu") -> None:
        super().__init__()
        self.kernel_size = self.reduction = self.stride = kernel_size
        self.conv = nn.Conv2d(in_dim, dim, kernel_size, stride=kernel_size, bias=False)
        self.norm = nn.BatchNorm2d(dim)
        self.act = make_act(act)

    def out_grid(self, grid: tuple[int, int]) -> tuple[int, int]:
        return tuple(conv_out(g, self.kernel_size, self.stride, 0) for g in grid)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.norm(self.conv(x)))


@STEMS.decorator("conv_bn")
class ConvBnStem(ConvBnAct):
    def __init__(self, in_chans: int, dim: int, kernel_size: int = 4, act: str = "relu") -> None:
        super().__init__(in_chans, dim, kernel_size, act)


@DOWNSAMPLES.decorator("conv_bn")
class ConvBnDownsample(ConvBnAct):
    def __init__(self, in_dim: int, dim: int, kernel_size: int = 2, act: str = "relu") -> None:
        super().__init__(in_dim, dim, kernel_size, act)


@MLPS.decorator("conv_bn_mlp")
class ConvBnMlp(nn.Module):
    """RepMLPNet's FFN: 1x1 conv + BN -> GELU -> 1x1 conv + BN, hidden = ratio * dim (NCHW only)."""

    def __init__(self, dim: int, ratio: float = 4.0, act: str = "gelu") -> None:
        super().__init__()
        hidden = int(ratio * dim)
        self.fc1 = ConvBn(dim, hidden, 1)
        self.act = make_act(act)
        self.fc2 = ConvBn(hidden, dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(x)))
