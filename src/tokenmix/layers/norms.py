"""Norms, each in any of the three layouts, with parameters always stored as (C,).

Which dimensions a norm normalises is the difference between papers, so each one says it:
- layernorm:  over C at each position (ViT, Mixer, ConvFormer's "LayerNorm2d").
- groupnorm1: over C, H and W together; what PoolFormer calls "Modified LayerNorm" (GroupNorm with one group).
  MetaFormer v2 drops the bias (bias=False, eps=1e-6).
- affine:     no statistics at all, only x * weight + bias per channel (ResMLP's Aff).
- batchnorm:  over the batch and positions, per channel (ConvMixer, RepMLPNet, sMLP).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..registry import NORMS


def _channel_shape(layout: str) -> tuple[int, ...]:
    """View shape that broadcasts a (C,) vector against the layout."""
    return (-1, 1, 1) if layout == "nchw" else (-1,)


class LayerNorm(nn.LayerNorm):
    """LayerNorm over channels."""

    def __init__(self, dim: int, layout: str = "nlc", eps: float = 1e-6, bias: bool = True) -> None:
        super().__init__(dim, eps=eps, bias=bias)
        self.layout = layout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.layout != "nchw":
            return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)
        x = F.layer_norm(x.permute(0, 2, 3, 1), self.normalized_shape, self.weight, self.bias, self.eps)
        return x.permute(0, 3, 1, 2)


class GroupNorm1(nn.Module):
    """Normalise over all of (C, H, W) per sample, then a per-channel affine."""

    def __init__(self, dim: int, layout: str = "nchw", eps: float = 1e-5, bias: bool = True) -> None:
        super().__init__()
        self.layout, self.eps = layout, eps
        self.weight = nn.Parameter(torch.ones(dim))
        self.bias = nn.Parameter(torch.zeros(dim)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.layout == "nchw":
            return F.group_norm(x, 1, self.weight, self.bias, self.eps)
        x = F.layer_norm(x, x.shape[1:], eps=self.eps)
        x = x if self.weight is None else x * self.weight
        return x if self.bias is None else x + self.bias

    def extra_repr(self) -> str:
        return f"eps={self.eps}, weight={self.weight is not None}, bias={self.bias is not None}"


class Affine(nn.Module):
    """ResMLP's Aff(x) = weight * x + bias: a norm with no statistics (Touvron et al. 2021, Eq. 1)."""

    def __init__(self, dim: int, layout: str = "nlc") -> None:
        super().__init__()
        self.shape = _channel_shape(layout)
        self.weight = nn.Parameter(torch.ones(dim))
        self.bias = nn.Parameter(torch.zeros(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.addcmul(self.bias.view(self.shape), self.weight.view(self.shape), x)


class BatchNorm(nn.BatchNorm2d):
    """BatchNorm over channels; channels-last inputs are viewed as NCHW."""

    def __init__(self, dim: int, layout: str = "nchw", eps: float = 1e-5, momentum: float = 0.1) -> None:
        super().__init__(dim, eps=eps, momentum=momentum)
        self.layout = layout

    def _check_input_dim(self, x: torch.Tensor) -> None:
        """No check: the layout says the shape, and torch.fx cannot trace nn.BatchNorm2d's `if x.dim() != 4`."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.layout == "nchw":
            return super().forward(x)
        if self.layout == "nlc":
            return super().forward(x.transpose(1, 2).unsqueeze(-1)).squeeze(-1).transpose(1, 2)
        return super().forward(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)


NORMS.register("layernorm", LayerNorm)
NORMS.register("groupnorm1", GroupNorm1)
NORMS.register("affine", Affine)
NORMS.register("batchnorm", BatchNorm)
NORMS.register("identity", lambda dim, layout="nchw": nn.Identity())
