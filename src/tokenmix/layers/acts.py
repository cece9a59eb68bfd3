"""Activations by name. Mixer and FNet's JAX code use tanh-approximate GELU; timm and PyTorch use exact erf."""

from __future__ import annotations

import torch
from torch import nn

from ..registry import ACTS


class StarReLU(nn.Module):
    """s * relu(x)^2 + b with learnable scalars s, b (MetaFormer baselines, Yu et al. 2022, Eq. 4)."""

    def __init__(self, scale: float = 1.0, bias: float = 0.0) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.full((1,), scale))
        self.bias = nn.Parameter(torch.full((1,), bias))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.scale * torch.relu(x).square() + self.bias


class SquaredReLU(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x).square()


class GELUTanh(nn.GELU):
    def __init__(self) -> None:
        super().__init__(approximate="tanh")


ACTS.register("gelu", nn.GELU)
ACTS.register("gelu_tanh", GELUTanh)
ACTS.register("relu", nn.ReLU)
ACTS.register("silu", nn.SiLU)
ACTS.register("star_relu", StarReLU)
ACTS.register("squared_relu", SquaredReLU)


def make_act(name: str) -> nn.Module:
    return ACTS.get(name)()
