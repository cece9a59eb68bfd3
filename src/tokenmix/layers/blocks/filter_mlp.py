"""GFNet's block (Rao et al. 2021, "Global Filter Networks for Image Classification")."""

from __future__ import annotations

from typing import Any

import torch

from ...config import StageCfg
from ...registry import BLOCKS, MIXERS, MLPS, NORMS
from ..build import build
from .base import Block, drop_path_or_identity, merge_channel_branch, optional_scale, residual_add


@BLOCKS.decorator("filter_mlp")
class FilterMlpBlock(Block):
    """Fig. 1: ONE residual around mixer and MLP together, no shortcut around the global filter itself:

        x = x + drop_path(ls2 * mlp(norm2(token_mixer(norm1(x)))))

    ls2 is GFNet-H's LayerScale (official key `gamma`); the isotropic GFNets have none.
    """

    uses = ("mixer", "norm", "mlp", "layer_scale")

    def __init__(self, stage: StageCfg, ctx: dict[str, Any], drop_path: float) -> None:
        super().__init__()
        dim, layout = ctx["dim"], ctx["layout"]
        self.norm1 = build(NORMS, stage.norm, dim=dim, layout=layout)
        self.token_mixer = build(MIXERS, stage.mixer, **ctx)
        self.norm2 = build(NORMS, stage.norm, dim=dim, layout=layout)
        self.mlp = build(MLPS, stage.mlp, dim=dim, layout=layout)
        self.ls2 = optional_scale(dim, stage.layer_scale, layout)
        self.drop_path1 = drop_path_or_identity(drop_path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return residual_add(x, self.drop_path1(self.ls2(self.mlp(self.norm2(self.token_mixer(self.norm1(x)))))))

    @torch.no_grad()
    def merge(self) -> None:
        """Inference form (tokenmix.deploy): ls2 into the MLP's last layer, norm2's affine into its first."""
        self.norm2, self.ls2 = merge_channel_branch(self.norm2, self.mlp, self.ls2)
