"""RandFormer's token mixer: a frozen random mixing matrix (Yu et al. 2022b, "MetaFormer Baselines")."""

from __future__ import annotations

import torch
from torch import nn

from ...config import ConfigError
from ...registry import MIXERS


@MIXERS.decorator("random")
class RandomMixing(nn.Module):
    """y = R x over the N tokens, R = softmax(U[0, 1) matrix) row-wise, drawn once and never trained.

    R is a buffer, not a parameter: it is in the state dict (key `random_matrix`, as in the official code, so
    released weights load) but outside `parameters()`, which is how the paper counts it ("11.9 + 0.2M frozen")
    and why no optimizer or weight decay can touch it.
    """

    layout = "nlc"

    def __init__(self, dim: int, num_tokens: int) -> None:
        super().__init__()
        self.register_buffer("random_matrix", torch.softmax(torch.rand(num_tokens, num_tokens), dim=-1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, N, C): mix along N
        return torch.einsum("mn,bnc->bmc", self.random_matrix, x)

    def fit_grid(self, saved: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        raise ConfigError(
            "random mixers cannot be resized to another resolution: R is one frozen draw over N tokens, "
            "with nothing learned to carry over"
        )
