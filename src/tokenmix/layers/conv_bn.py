"""Conv + BatchNorm units (RepMLPNet's stems, downsampling and FFN); their folding is in tokenmix.layers.fold."""

from __future__ import annotations

import torch
from torch import nn

from ..registry import DOWNSAMPLES, MLPS, STEMS
from .acts import make_act
from .contracts import Downsample, GridChange, Stem
from .fold import fuse_conv_bn
from .grid import conv_out


class ConvBn(nn.Module):
    """conv (no bias) -> BatchNorm, keys `conv`, `bn` (as RepMLP's `conv_bn` / `ConvBN`).

    fused=True builds its inference form, one conv with bias (`conv.weight`, `conv.bias`, no `bn`): what
    `fuse_bn_()` turns it into, and what the official RepMLP code's `ConvBN(deploy=True)` holds. Whether a ConvBn
    is fused when a model is re-parameterised is its owner's rule (RepMLP-ResNet's parts fuse theirs, RepMLPNet
    keeps its own). Not named `fuse`: timm's reparameterize_model replaces a module by what its `fuse()` returns.
    """

    def __init__(
        self, in_dim: int, dim: int, kernel_size: int, stride: int = 1, groups: int = 1, fused: bool = False
    ) -> None:
        super().__init__()
        padding = kernel_size // 2 if stride == 1 else 0
        self.conv = nn.Conv2d(in_dim, dim, kernel_size, stride=stride, padding=padding, groups=groups, bias=fused)
        self.bn = nn.Identity() if fused else nn.BatchNorm2d(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))

    @torch.no_grad()
    def fuse_bn_(self) -> None:
        """Fold the BN (eval statistics) into the conv; a no-op once fused."""
        if isinstance(self.bn, nn.BatchNorm2d):
            self.conv, self.bn = fuse_conv_bn(self.conv, self.bn), nn.Identity()


class ConvBnAct(GridChange):
    """Non-overlapping k x k / k conv (no bias) -> BatchNorm -> act: RepMLPNet's stem and downsampling."""

    def __init__(self, in_dim: int, dim: int, kernel_size: int, act: str = "relu") -> None:
        super().__init__()
        self.kernel_size = self.reduction = self.stride = kernel_size
        self.out_dim = dim
        self.conv = nn.Conv2d(in_dim, dim, kernel_size, stride=kernel_size, bias=False)
        self.norm = nn.BatchNorm2d(dim)
        self.act = make_act(act)

    def out_grid(self, grid: tuple[int, int]) -> tuple[int, int]:
        return tuple(conv_out(g, self.kernel_size, self.stride, 0) for g in grid)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.norm(self.conv(x)))


@STEMS.decorator("conv_bn")
class ConvBnStem(ConvBnAct, Stem):
    def __init__(self, in_chans: int, dim: int, kernel_size: int = 4, act: str = "relu") -> None:
        super().__init__(in_chans, dim, kernel_size, act)


@DOWNSAMPLES.decorator("conv_bn")
class ConvBnDownsample(ConvBnAct, Downsample):
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
