"""Convolutional token mixers."""

from __future__ import annotations

from torch import nn

from ...registry import MIXERS


@MIXERS.decorator("dwconv")
class DepthwiseConv(nn.Conv2d):
    """A depthwise k x k convolution with "same" padding: ConvMixer's spatial mixing (Trockman & Kolter 2022).

    padding="same" and k // 2 differ for even k; the official code and timm use "same".
    """

    layout = "nchw"

    def __init__(self, dim: int, kernel_size: int = 9, bias: bool = True) -> None:
        super().__init__(dim, dim, kernel_size, groups=dim, padding="same", bias=bias)
