"""sMLPNet's block (Tang et al. 2022, "Sparse MLP for Image Recognition: Is Self-Attention Really Necessary?")."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ...config import StageCfg
from ...registry import BLOCKS, MIXERS, MLPS, NORMS
from ..build import build
from ..depthwise import DepthwiseConv2d
from ..fold import fold_norm_into
from .base import Block, drop_path_or_identity, residual_add


@BLOCKS.decorator("sparse_mlp")
class SparseMlpBlock(Block):
    """Fig. 3: a pre-activated depthwise 3x3 conv (BN -> GELU -> DWConv, no bias) feeds the token mixer inside
    one residual; the channel half is the usual norm -> MLP (stage.norm is norm2 only, norm1 is the BN):

        x = x + drop_path(token_mixer(dwconv(act1(norm1(x)))))
        x = x + drop_path(mlp(norm2(x)))
    """

    def __init__(self, stage: StageCfg, ctx: dict[str, Any], drop_path: float, kernel_size: int = 3) -> None:
        super().__init__()
        dim, layout = ctx["dim"], ctx["layout"]
        self.norm1 = nn.BatchNorm2d(dim)
        self.act1 = nn.GELU()
        self.dwconv = DepthwiseConv2d(dim, kernel_size, bias=False, padding=kernel_size // 2)
        self.token_mixer = build(MIXERS, stage.mixer, **ctx)
        self.drop_path1 = drop_path_or_identity(drop_path)
        self.norm2 = build(NORMS, stage.norm, dim=dim, layout=layout)
        self.mlp = build(MLPS, stage.mlp, dim=dim, layout=layout)
        self.drop_path2 = drop_path_or_identity(drop_path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = residual_add(x, self.drop_path1(self.token_mixer(self.dwconv(self.act1(self.norm1(x))))))
        return residual_add(x, self.drop_path2(self.mlp(self.norm2(x))))

    @torch.no_grad()
    def merge(self) -> None:
        """Inference form (tokenmix.deploy): norm2's affine into the channel MLP's first layer."""
        self.norm2 = fold_norm_into(self.norm2, self.mlp)
