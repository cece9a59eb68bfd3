"""The feed-forward-only ViT block (Melas-Kyriazi 2021, "Do You Even Need Attention?")."""

from __future__ import annotations

from typing import Any

import torch

from ...config import StageCfg
from ...registry import BLOCKS, MIXERS, MLPS, NORMS
from ..build import build
from ..fold import fold_norm_into
from .base import Block, drop_path_or_identity, residual_add


@BLOCKS.decorator("channel_first")
class ChannelFirstBlock(Block):
    """The channel MLP first, then the token mixer, which brings its own norm (it normalises over tokens):

    x = x + drop_path(mlp(norm2(x)))
    x = x + drop_path(token_mixer(x))
    """

    def __init__(self, stage: StageCfg, ctx: dict[str, Any], drop_path: float) -> None:
        super().__init__()
        dim, layout = ctx["dim"], ctx["layout"]
        self.norm2 = build(NORMS, stage.norm, dim=dim, layout=layout)
        self.mlp = build(MLPS, stage.mlp, dim=dim, layout=layout)
        self.drop_path2 = drop_path_or_identity(drop_path)
        self.token_mixer = build(MIXERS, stage.mixer, **ctx)
        self.drop_path1 = drop_path_or_identity(drop_path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = residual_add(x, self.drop_path2(self.mlp(self.norm2(x))))
        return residual_add(x, self.drop_path1(self.token_mixer(x)))

    @torch.no_grad()
    def merge(self) -> None:
        """Inference form (tokenmix.deploy): norm2's affine into the channel MLP's first layer."""
        self.norm2 = fold_norm_into(self.norm2, self.mlp)
