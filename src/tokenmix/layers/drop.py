"""Stochastic depth (Huang et al. 2016, "Deep Networks with Stochastic Depth"), per sample: in training, each
sample's residual branch is zeroed with probability `drop_prob` and the survivors are divided by the keep
probability, so the expected output equals the evaluation-time output.

Ours rather than timm's `DropPath` because importing `timm.layers` pulls in torchvision and torch._dynamo (about
two seconds at every start-up) for these few lines. The random draws are the same as timm's (one Bernoulli per
sample from `x.new_empty(...).bernoulli_`), so a seeded run drops the same samples either way
(tests/layers/test_drop.py).
"""

from __future__ import annotations

import torch
from torch import nn


def drop_path(x: torch.Tensor, drop_prob: float, training: bool, scale_by_keep: bool = True) -> torch.Tensor:
    """x with whole samples zeroed at rate drop_prob (training only), the rest scaled by 1 / keep_prob."""
    if drop_prob == 0.0 or not training:
        return x
    keep_prob = 1.0 - drop_prob
    per_sample = (x.shape[0],) + (1,) * (x.ndim - 1)  # one draw per sample, broadcast over every other dim
    keep = x.new_empty(per_sample).bernoulli_(keep_prob)
    if scale_by_keep and keep_prob > 0.0:
        keep.div_(keep_prob)
    return x * keep


class DropPath(nn.Module):
    """drop_path as a module, on the residual branch: `x + drop_path(branch(x))`."""

    def __init__(self, drop_prob: float = 0.0, scale_by_keep: bool = True) -> None:
        super().__init__()
        self.drop_prob = drop_prob
        self.scale_by_keep = scale_by_keep

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return drop_path(x, self.drop_prob, self.training, self.scale_by_keep)

    def extra_repr(self) -> str:
        return f"drop_prob={self.drop_prob:.3f}"
