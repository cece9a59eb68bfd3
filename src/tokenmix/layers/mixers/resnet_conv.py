"""ResNet's spatial layer as a token mixer (He et al. 2016): what RepMLP-ResNet keeps where it puts no RepMLP."""

from __future__ import annotations

import torch
from torch import nn

from ...registry import MIXERS
from ..fold import fuse_conv_bn


@MIXERS.decorator("resnet_conv3x3")
class ResNetConv3x3(nn.Module):
    """3x3 conv (stride s, no bias) -> BN -> ReLU: a bottleneck's middle layer. deploy=True: its inference form,
    the BN fused into a conv with bias (keys `conv.weight`, `conv.bias`), as the official RepMLP deploy files."""

    layout = "nchw"

    def __init__(self, dim: int, stride: int = 1, deploy: bool = False) -> None:
        super().__init__()
        self.conv = nn.Conv2d(dim, dim, 3, stride=stride, padding=1, bias=deploy)
        self.bn = nn.Identity() if deploy else nn.BatchNorm2d(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.bn(self.conv(x)))

    @torch.no_grad()
    def reparameterize(self) -> None:
        """conv -> BN (eval statistics) as one biased conv: the layout of deploy=True."""
        if isinstance(self.bn, nn.BatchNorm2d):
            self.conv, self.bn = fuse_conv_bn(self.conv, self.bn), nn.Identity()

    merge = reparameterize
