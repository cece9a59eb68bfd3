"""aMLP's block (Liu et al. 2021, Sec. 4.3, Fig. 6): the gMLP block whose gate also receives a tiny attention
of the block's normalised input,

    n = norm1(x);  x = x + fc2(u * (W norm(v) + b + attn(n))),  (u, v) = split(gelu(fc1(n)))

gMLP itself needs no new block: it is the skeleton's "gated" block with a sequence SGU as its mixer. The
language models (tokenmix.lm) use both.
"""

from __future__ import annotations

from typing import Any

import torch

from ...config import ConfigError, StageCfg
from ...registry import BLOCKS, MIXERS, MLPS, NORMS
from ..build import build
from ..mixers.sequence import TinyAttention
from .base import Block


@BLOCKS.decorator("attention_gated")
class AttentionGatedBlock(Block):
    """x + fc2(SGU(gelu(fc1(n)), attn(n))), n = norm1(x): the gated MLP of gMLP with d_attn-wide attention in
    its gate. Causal when the SGU is."""

    def __init__(self, stage: StageCfg, ctx: dict[str, Any], drop_path: float, d_attn: int = 64) -> None:
        super().__init__()
        if drop_path:
            raise ConfigError(f"the attention_gated block has no drop path, got a rate of {drop_path}")
        dim, layout = ctx["dim"], ctx["layout"]
        self.norm1 = build(NORMS, stage.norm, dim=dim, layout=layout)
        make_gate = lambda hidden: build(MIXERS, stage.mixer, **{**ctx, "dim": hidden})
        self.mlp = build(MLPS, stage.mlp, dim=dim, layout=layout, make_gate=make_gate)
        self.attn = TinyAttention(dim, self.mlp.fc2.in_features, d_attn, causal=self.mlp.gate.causal)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, mlp = self.norm1(x), self.mlp
        hidden = mlp.drop1(mlp.act(mlp.fc1(n)))  # the gated MLP's own steps, with the attention joining its gate
        return x + mlp.drop2(mlp.fc2(mlp.gate(hidden, self.attn(n))))
