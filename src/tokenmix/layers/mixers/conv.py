"""Convolutional token mixers."""

from __future__ import annotations

import torch
from torch import nn

from ...registry import MIXERS
from ..acts import make_act
from ..depthwise import DepthwiseConv2d
from ..pointwise import PointwiseConv


@MIXERS.decorator("dwconv")
class DepthwiseConv(DepthwiseConv2d):
    """A depthwise k x k convolution with "same" padding: ConvMixer's spatial mixing (Trockman & Kolter 2022).

    padding="same" and k // 2 differ for even k; the official code and timm use "same".
    """

    layout = "nchw"

    def __init__(self, dim: int, kernel_size: int = 9, bias: bool = True) -> None:
        super().__init__(dim, kernel_size, bias=bias, padding="same")


@MIXERS.decorator("sepconv")
class SepConv(nn.Module):
    """ConvFormer's token mixer (Yu et al. 2022b, Eq. 6): MobileNetV2's inverted separable convolution,

        pwconv1 (C -> 2C) -> StarReLU -> depthwise k x k -> pwconv2 (2C -> C), no biases.

    Weight layout and names follow timm's `SepConv`, so timm's convformer/caformer weights load unchanged.
    """

    layout = "nchw"

    def __init__(
        self,
        dim: int,
        expansion_ratio: float = 2.0,
        kernel_size: int = 7,
        act: str = "star_relu",
        bias: bool = False,
    ) -> None:
        super().__init__()
        hidden = int(expansion_ratio * dim)
        self.pwconv1 = PointwiseConv(dim, hidden, bias=bias)
        self.act1 = make_act(act)
        padding = kernel_size // 2
        self.dwconv = DepthwiseConv2d(hidden, kernel_size, bias=bias, padding=padding)
        self.pwconv2 = PointwiseConv(hidden, dim, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pwconv2(self.dwconv(self.act1(self.pwconv1(x))))
