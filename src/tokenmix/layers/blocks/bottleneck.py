"""ResNet's bottleneck block (He et al. 2016, "Deep Residual Learning for Image Recognition")."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ...config import StageCfg
from ...registry import BLOCKS, MIXERS
from ..build import build
from ..conv_bn import ConvBn
from ..grid import conv_out
from ..mixers.resnet_conv import ResNetConv3x3
from .base import Block, drop_path_or_identity, residual_add


@BLOCKS.decorator("bottleneck")
class BottleneckBlock(Block):
    """Fig. 5, with its 3x3 conv as the token mixer, post-activation:

        x = relu(shortcut(x) + drop_path(conv3(token_mixer(conv1(x)))))

    conv1: 1x1 -> width, BN, ReLU; the mixer (ending in its own ReLU) at width; conv3: 1x1 -> dim, BN. Its BNs
    are inside its convs: it uses no stage norm and no channel MLP.

    A ResNet stage changes width and stride inside its first block, so this kind takes the stage input
    (`takes_stage_input`): the first block has a 1x1/stride + BN projection shortcut and is always the plain
    ResNet bottleneck (3x3 conv with the stride, width dim/4) — RepMLP-ResNet replaces only the stride-1 3x3
    convs, whose FC is sized for the stage's grid. The other blocks use stage.mixer at width dim * width_ratio
    (1/4; the RepMLP Light Block's 1/8).

    deploy=True: the inference form of its own convs (conv1, conv3, the shortcut, the first block's 3x3), each BN
    fused into a conv with bias, as the official RepMLP code's `ConvBN(deploy=True)`; `reparameterize()` fuses
    them. The mixer of the other blocks has its own `deploy` option and rule.
    """

    uses = ("mixer",)
    takes_stage_input = True

    def __init__(
        self,
        stage: StageCfg,
        ctx: dict[str, Any],
        drop_path: float,
        stride: int = 1,
        width_ratio: float = 0.25,
        deploy: bool = False,
    ) -> None:
        super().__init__()
        dim, entering = ctx["dim"], "in_dim" in ctx
        in_dim = ctx.get("in_dim", dim)
        self.stride = stride if entering else 1
        self.reduction = self.stride
        width = dim // 4 if entering else int(dim * width_ratio)
        self.conv1 = ConvBn(in_dim, width, 1, fused=deploy)
        self.act1 = nn.ReLU()
        self.token_mixer = (
            ResNetConv3x3(width, stride, deploy) if entering else build(MIXERS, stage.mixer, **{**ctx, "dim": width})
        )
        self.conv3 = ConvBn(width, dim, 1, fused=deploy)
        self.drop_path1 = drop_path_or_identity(drop_path)
        needs_projection = entering and (stride != 1 or in_dim != dim)
        self.shortcut = ConvBn(in_dim, dim, 1, stride=stride, fused=deploy) if needs_projection else nn.Identity()
        self.act = nn.ReLU()

    def out_grid(self, grid: tuple[int, int]) -> tuple[int, int]:
        """The grid after the 3x3 conv (padding 1, stride s)."""
        return tuple(conv_out(g, 3, self.stride, 1) for g in grid)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv3(self.token_mixer(self.act1(self.conv1(x))))
        return self.act(residual_add(self.shortcut(x), self.drop_path1(y)))

    def reparameterize(self) -> None:
        """Fuse its conv + BN pairs (eval statistics); the mixer, a part of its own, fuses itself."""
        for unit in (self.conv1, self.conv3, self.shortcut):
            if isinstance(unit, ConvBn):
                unit.fuse_bn_()

    merge = reparameterize
