"""ConvMixer's block (Trockman & Kolter 2022, "Patches Are All You Need?")."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ...config import StageCfg
from ...registry import BLOCKS, MIXERS, MLPS, NORMS
from ..acts import make_act
from ..build import build
from ..fold import absorb_input_affine_, batchnorm_affine, fold_batchnorm_through_relu, fold_scale_through_relu_
from .base import Block, drop_path_or_identity, residual_add


@BLOCKS.decorator("convmixer")
class ConvMixerBlock(Block):
    """Fig. 2: post-norm, activation before BatchNorm, and a residual only around the spatial half:

    x = x + drop_path(norm1(act(token_mixer(x))))
    x = norm2(act(mlp(x)))
    """

    def __init__(self, stage: StageCfg, ctx: dict[str, Any], drop_path: float, act: str = "gelu") -> None:
        super().__init__()
        dim, layout = ctx["dim"], ctx["layout"]
        self.token_mixer = build(MIXERS, stage.mixer, **ctx)
        self.act1 = make_act(act)
        self.norm1 = build(NORMS, stage.norm, dim=dim, layout=layout)
        self.drop_path1 = drop_path_or_identity(drop_path)
        self.mlp = build(MLPS, stage.mlp, dim=dim, layout=layout)
        self.act2 = make_act(act)
        self.norm2 = build(NORMS, stage.norm, dim=dim, layout=layout)

        self.register_buffer("branch_scale", None)  # set by merge(): norm1's scale, fused into the residual add

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.drop_path1(self.norm1(self.act1(self.token_mixer(x))))
        x = residual_add(x, y) if self.branch_scale is None else torch.addcmul(x, y, self.branch_scale.view(-1, 1, 1))
        return self.norm2(self.act2(self.mlp(x)))

    @torch.no_grad()
    def merge(self) -> None:
        """Inference form (tokenmix.deploy). BatchNorm sits after the activation, so it cannot go into the
        conv before it in general, and the next layer takes it only in part:

        - norm1 = a1 * y + c1 feeds only the 1x1 conv (through the residual sum), so c1 goes exactly into that
          conv's bias (a 1x1 conv has no padding); a1 joins the residual add as one addcmul.
        - norm2 = a2 * y + c2 is the next block's input *and* its residual, and the next depthwise conv pads
          with zeros where c2 would have to appear: it cannot go forward exactly, so it stays.
        - With ReLU (ConvMixer-768/32), relu(a * v) = a * relu(v) for a >= 0: a non-negative BN scale goes
          backward into the conv before the activation, leaving nothing of norm1 and a Shift of norm2.
        """
        if not isinstance(self.norm1, nn.BatchNorm2d):
            return
        scale1, shift1 = batchnorm_affine(self.norm1)
        absorb_input_affine_(self.mlp, None, shift1)
        self.norm1 = nn.Identity()
        if not fold_scale_through_relu_(self.token_mixer, self.act1, scale1):
            self.branch_scale = scale1.clone()
        self.norm2 = fold_batchnorm_through_relu(self.mlp, self.act2, self.norm2)
        for act in (self.act1, self.act2):
            if isinstance(act, nn.ReLU):
                act.inplace = True  # on the conv's fresh output; a deployed model is not trained
