"""The general MetaFormer block (Yu et al. 2022, "MetaFormer Is Actually What You Need for Vision")."""

from __future__ import annotations

from typing import Any

import torch

from ...config import StageCfg
from ...registry import BLOCKS, MIXERS, MLPS, NORMS
from ..build import build
from .base import Block, drop_path_or_identity, merge_channel_branch, optional_scale, residual_add


@BLOCKS.decorator("metaformer")
class MetaFormerBlock(Block):
    """Pre-norm, two residual branches (Eq. 1-3), with optional LayerScale and ResScale:

    x = rs1 * x + drop_path(ls1 * token_mixer(norm1(x)))
    x = rs2 * x + drop_path(ls2 * mlp(norm2(x)))
    """

    uses = ("mixer", "norm", "mlp", "layer_scale", "res_scale")

    def __init__(self, stage: StageCfg, ctx: dict[str, Any], drop_path: float) -> None:
        super().__init__()
        dim, layout = ctx["dim"], ctx["layout"]
        self.norm1 = build(NORMS, stage.norm, dim=dim, layout=layout)
        self.token_mixer = build(MIXERS, stage.mixer, **ctx)
        self.ls1 = optional_scale(dim, stage.layer_scale, layout)
        self.res_scale1 = optional_scale(dim, stage.res_scale, layout)
        self.drop_path1 = drop_path_or_identity(drop_path)
        self.norm2 = build(NORMS, stage.norm, dim=dim, layout=layout)
        self.mlp = build(MLPS, stage.mlp, dim=dim, layout=layout)
        self.ls2 = optional_scale(dim, stage.layer_scale, layout)
        self.res_scale2 = optional_scale(dim, stage.res_scale, layout)
        self.drop_path2 = drop_path_or_identity(drop_path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = residual_add(self.res_scale1(x), self.drop_path1(self.ls1(self.token_mixer(self.norm1(x)))))
        return residual_add(self.res_scale2(x), self.drop_path2(self.ls2(self.mlp(self.norm2(x)))))

    @torch.no_grad()
    def merge(self) -> None:
        """Inference form (tokenmix.deploy): LayerScale and norm affines folded into the projections nearby.

        Channel branch: ls2 into the MLP's last layer, norm2's affine into its first. Token branch: the mixer
        decides (`merge_branch`), since only it knows what commutes with it.
        """
        self.norm2, self.ls2 = merge_channel_branch(self.norm2, self.mlp, self.ls2)
        merge_branch = getattr(self.token_mixer, "merge_branch", None)
        if merge_branch is not None:
            self.norm1, self.token_mixer, self.ls1 = merge_branch(self.norm1, self.ls1)
