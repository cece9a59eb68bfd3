"""Channel MLPs: the per-position feed-forward half of every MetaFormer block."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ..registry import MLPS
from .acts import SquaredReLU, StarReLU, make_act
from .fold import absorb_input_affine_, scale_output_
from .pointwise import PointwiseConv


def channel_linear(layout: str, dim_in: int, dim_out: int, bias: bool = True) -> nn.Module:
    """A Linear over channels: a 1x1 conv for NCHW tensors (weight-compatible with timm's conv MLPs), which runs
    as a GEMM when the map is channels_last."""
    if layout == "nchw":
        return PointwiseConv(dim_in, dim_out, bias=bias)
    return nn.Linear(dim_in, dim_out, bias=bias)


class Mlp(nn.Module):
    """fc1 -> act -> dropout -> fc2 -> dropout, hidden width = ratio * dim."""

    is_mlp = True  # timm's Mixer init gives the biases of its own Linears N(0, 1e-6) (tokenmix.init)

    def __init__(
        self,
        dim: int,
        layout: str = "nlc",
        ratio: float = 4.0,
        act: str = "gelu",
        bias: bool = True,
        drop: float = 0.0,
    ) -> None:
        super().__init__()
        hidden = int(ratio * dim)
        self.fc1 = channel_linear(layout, dim, hidden, bias)
        self.act = make_act(act)
        self.drop1 = nn.Dropout(drop)
        self.fc2 = channel_linear(layout, hidden, dim, bias)
        self.drop2 = nn.Dropout(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop2(self.fc2(self.drop1(self.act(self.fc1(x)))))

    # tokenmix.deploy: what an Mlp takes from its neighbours, and what it merges inside itself
    def scale_output_(self, scale: torch.Tensor) -> None:
        scale_output_(self.fc2, scale)

    def absorb_input_affine_(self, weight: torch.Tensor | None, bias: torch.Tensor | None) -> None:
        absorb_input_affine_(self.fc1, weight, bias)

    @torch.no_grad()
    def merge(self) -> None:
        """StarReLU's s * relu(x)^2 + b: s and b go into fc2 (PoolFormerV2), leaving relu(x)^2."""
        if isinstance(self.act, StarReLU):
            hidden = self.fc2.weight.shape[1]
            absorb_input_affine_(self.fc2, self.act.scale.expand(hidden), self.act.bias.expand(hidden))
            self.act = SquaredReLU()


class GatedMlp(nn.Module):
    """gMLP's channel MLP with a token-mixing gate in its middle (Liu et al. 2021, Fig. 1).

    fc1 widens to hidden = ratio * dim; the gate (the Spatial Gating Unit) splits that in half, mixes one half
    over tokens and multiplies; fc2 maps hidden/2 back to dim.
    """

    is_mlp = True

    def __init__(
        self,
        dim: int,
        make_gate: Callable[[int], nn.Module],
        ratio: float = 6.0,
        act: str = "gelu",
        drop: float = 0.0,
    ) -> None:
        super().__init__()
        hidden = int(ratio * dim)
        self.fc1 = nn.Linear(dim, hidden)
        self.act = make_act(act)
        self.drop1 = nn.Dropout(drop)
        self.gate = make_gate(hidden)
        self.fc2 = nn.Linear(hidden // 2, dim)
        self.drop2 = nn.Dropout(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop2(self.fc2(self.gate(self.drop1(self.act(self.fc1(x))))))

    def scale_output_(self, scale: torch.Tensor) -> None:
        scale_output_(self.fc2, scale)

    def absorb_input_affine_(self, weight: torch.Tensor | None, bias: torch.Tensor | None) -> None:
        absorb_input_affine_(self.fc1, weight, bias)


class Pointwise(PointwiseConv):
    """ConvMixer's channel mixing: a single 1x1 convolution (its act and BatchNorm live in the block)."""

    layout = "nchw"

    def __init__(self, dim: int) -> None:
        super().__init__(dim, dim)


MLPS.register("mlp", Mlp)
MLPS.register("gated_mlp", GatedMlp)
MLPS.register("pointwise", Pointwise)
