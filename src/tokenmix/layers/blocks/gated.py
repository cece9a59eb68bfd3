"""gMLP's block (Liu et al. 2021, "Pay Attention to MLPs")."""

from __future__ import annotations

from typing import Any

import torch

from ...config import StageCfg
from ...registry import BLOCKS, MIXERS, MLPS, NORMS
from ..build import build
from .base import Block, drop_path_or_identity, residual_add


@BLOCKS.decorator("gated")
class GatedBlock(Block):
    """Fig. 1, a single branch: x + drop_path(mlp(norm1(x))), the token mixer (the Spatial Gating Unit) sitting
    inside the gated MLP as its gate, built at the MLP's hidden width.
    """

    def __init__(self, stage: StageCfg, ctx: dict[str, Any], drop_path: float) -> None:
        super().__init__()
        dim, layout = ctx["dim"], ctx["layout"]
        self.norm1 = build(NORMS, stage.norm, dim=dim, layout=layout)
        make_gate = lambda hidden: build(MIXERS, stage.mixer, **{**ctx, "dim": hidden})
        self.mlp = build(MLPS, stage.mlp, dim=dim, layout=layout, make_gate=make_gate)
        self.drop_path1 = drop_path_or_identity(drop_path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return residual_add(x, self.drop_path1(self.mlp(self.norm1(x))))
