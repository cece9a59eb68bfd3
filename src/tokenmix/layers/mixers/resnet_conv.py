"""ResNet's spatial layer as a token mixer (He et al. 2016): what RepMLP-ResNet keeps where it puts no RepMLP."""

from __future__ import annotations

import torch
from torch import nn

from ...registry import MIXERS


@MIXERS.decorator("resnet_conv3x3")
class ResNetConv3x3(nn.Module):
    """3x3 conv (stride s, no bias) -> BN -> ReLU: a bottleneck's middle layer."""

    layout = "nchw"

    def __init__(self, dim: int, stride: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(dim, dim, 3, stride=stride, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.bn(self.conv(x)))
