"""Mixers that are fully-connected over the token axis: Mixer's token MLP, ResMLP's linear layer, gMLP's SGU.

Each holds weights of size N x N (or N x hidden), so the model is tied to the token count of its img_size.
All take (B, N, C) and mix along N: the transposes below are the whole point of these models.
"""

from __future__ import annotations

import torch
from torch import nn

from ...registry import MIXERS
from ..acts import make_act


@MIXERS.decorator("token_mlp")
class TokenMlp(nn.Module):
    """MLP-Mixer's token-mixing MLP (Tolstikhin et al. 2021, Eq. 1): N -> D_S -> N per channel.

    D_S = ratio * dim: the paper's Table 1 ties the token MLP width to the channel width (D_S = C/2), not to N.
    """

    layout = "nlc"

    def __init__(self, dim: int, num_tokens: int, ratio: float = 0.5, act: str = "gelu", drop: float = 0.0) -> None:
        super().__init__()
        hidden = int(ratio * dim)
        self.fc1 = nn.Linear(num_tokens, hidden)
        self.act = make_act(act)
        self.drop1 = nn.Dropout(drop)
        self.fc2 = nn.Linear(hidden, num_tokens)
        self.drop2 = nn.Dropout(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.transpose(1, 2)  # (B, C, N): mix tokens
        x = self.drop2(self.fc2(self.drop1(self.act(self.fc1(x)))))
        return x.transpose(1, 2)


@MIXERS.decorator("linear_tokens")
class LinearTokens(nn.Module):
    """ResMLP's token mixer: one Linear(N, N) with bias, no activation (Touvron et al. 2021, Eq. 1).

    bias=False is the PoolFormer paper's "SpatialFC" hybrid mixer (Table 5).
    """

    layout = "nlc"

    def __init__(self, dim: int, num_tokens: int, bias: bool = True) -> None:
        super().__init__()
        self.proj = nn.Linear(num_tokens, num_tokens, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x.transpose(1, 2)).transpose(1, 2)


@MIXERS.decorator("spatial_gating")
class SpatialGatingUnit(nn.Module):
    """gMLP's Spatial Gating Unit (Liu et al. 2021, Eq. 2-4): u * (W norm(v) + b), with (u, v) = split(x).

    `dim` is the width of the gated MLP's hidden layer; the output has dim/2 channels. W starts near zero and
    b at one, so every block starts as a plain MLP ("near identity"), which the paper needs for stable training.
    """

    layout = "nlc"

    def __init__(self, dim: int, num_tokens: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim // 2, eps=eps)
        self.proj = nn.Linear(num_tokens, num_tokens)

    def init_weights(self) -> None:
        nn.init.normal_(self.proj.weight, std=1e-6)
        nn.init.ones_(self.proj.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u, v = x.chunk(2, dim=-1)
        v = self.proj(self.norm(v).transpose(1, 2)).transpose(1, 2)  # mix tokens
        return u * v


@MIXERS.decorator("token_ff")
class TokenFeedForward(nn.Module):
    """The token half of the feed-forward-only ViT (Melas-Kyriazi 2021, "Do You Even Need Attention?"):
    LayerNorm over the *token* axis, then an MLP N -> ratio * N -> N per channel, class token included.

    The norm is part of the mixer because it normalises tokens, not channels: no channel norm of the block
    can stand in for it. Use it with the "channel_first" block, which runs the channel MLP before it.
    """

    layout = "nlc"

    def __init__(
        self, dim: int, num_tokens: int, ratio: float = 4.0, act: str = "gelu", eps: float = 1e-6
    ) -> None:
        super().__init__()
        hidden = int(ratio * num_tokens)
        self.norm = nn.LayerNorm(num_tokens, eps=eps)
        self.fc1 = nn.Linear(num_tokens, hidden)
        self.act = make_act(act)
        self.fc2 = nn.Linear(hidden, num_tokens)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.transpose(1, 2)  # (B, C, N): normalise and mix tokens
        return self.fc2(self.act(self.fc1(self.norm(x)))).transpose(1, 2)
