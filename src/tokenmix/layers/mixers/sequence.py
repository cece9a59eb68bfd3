"""Token mixers over a 1-D sequence, causal or not: gMLP's Spatial Gating Unit with dense or Toeplitz token
weights, and multi-head attention with an optional causal mask.

They are ordinary parts (registered in tokenmix.registry.MIXERS, layout "nlc"), so the skeleton's own block
kinds ("gated", "metaformer") wire them. Each mixes along N of a (B, N, C) input; `num_tokens` is the longest
sequence the part is built for. A causal part lets position i see only positions j <= i, so the same weights
run exactly on any prefix: a causal model, and any Toeplitz one, accepts every length up to `num_tokens`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ...config import ConfigError
from ...registry import MIXERS
from .attention import Attention
from .token_mlp import SpatialGatingUnit, left_matmul

NOT_RESIZABLE = (
    "{kind} cannot be resized to another grid: their token weights belong to positions of a 1-D sequence "
    "(run a Toeplitz or causal model on a shorter sequence instead)"
)


def check_length(n: int, built_for: int, any_shorter: bool) -> None:
    if n > built_for or (n < built_for and not any_shorter):
        wanted = f"at most {built_for}" if any_shorter else f"exactly {built_for}"
        raise ValueError(f"expected a sequence of {wanted} tokens, got {n}")


def gate(sgu: nn.Module, x: torch.Tensor, gate_residual: torch.Tensor | None) -> torch.Tensor:
    """u * (W norm(v) + b [+ gate_residual]) with (u, v) the two halves of x's channels (B, N, 2D) -> (B, N, D).
    gate_residual is aMLP's tiny attention, added to the token-mixed half before the product."""
    u, v = x.chunk(2, dim=-1)
    weight, bias = sgu.token_weights(x.shape[1])
    v = left_matmul(weight, sgu.norm(v))
    v = v + bias[:, None].to(v.dtype)  # in the GEMM's dtype (see mix_tokens)
    return u * (v if gate_residual is None else v + gate_residual)


@MIXERS.decorator("sequence_gating")
class SequenceGatingUnit(SpatialGatingUnit):
    """gMLP's SGU (Liu et al. 2021, Eq. 2-4) with dense token weights W (N x N) and bias b (N,).

    causal: W is used as its lower triangle, so output i mixes inputs j <= i (the paper's causal variant and
    lucidrains' gMLP-GPT). Dense weights are tied to positions: a non-causal SGU needs exactly N tokens.
    The weights and their init (W ~ N(0, 1e-6), b = 1: every block starts as a plain MLP) are the vision SGU's.
    """

    def __init__(self, dim: int, num_tokens: int, causal: bool = False, eps: float = 1e-5) -> None:
        super().__init__(dim, num_tokens, grid=(1, num_tokens), eps=eps)  # a sequence: one row of N tokens
        self.causal, self.num_tokens = causal, num_tokens

    def fit_grid(self, saved: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        raise ConfigError(NOT_RESIZABLE.format(kind="sequence gating units"))

    def token_weights(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(W, b) for a sequence of n tokens: (n, n), (n,)."""
        check_length(n, self.num_tokens, any_shorter=self.causal)
        weight = self.proj.weight[:n, :n]
        return (weight.tril() if self.causal else weight), self.proj.bias[:n]

    def forward(self, x: torch.Tensor, gate_residual: torch.Tensor | None = None) -> torch.Tensor:
        return gate(self, x, gate_residual)


@MIXERS.decorator("toeplitz_gating")
class ToeplitzGatingUnit(nn.Module):
    """The SGU with Toeplitz token weights, the gMLP paper's choice for text: W[i, j] = w[i - j], one weight
    per relative offset (2N - 1 of them; N when causal, offsets >= 0 only), so the mixing is shift-invariant
    and the same weights serve every length up to N. The bias stays one per position (b = 1 at init).
    """

    layout = "nlc"

    def __init__(self, dim: int, num_tokens: int, causal: bool = False, eps: float = 1e-5) -> None:
        super().__init__()
        self.causal, self.num_tokens = causal, num_tokens
        self.norm = nn.LayerNorm(dim // 2, eps=eps)
        self.offsets = nn.Parameter(torch.zeros(num_tokens if causal else 2 * num_tokens - 1))  # w[-(N-1) .. N-1]
        self.bias = nn.Parameter(torch.ones(num_tokens))
        pos = torch.arange(num_tokens)
        self.register_buffer("offset_index", pos[:, None] - pos[None, :], persistent=False)  # i - j

    def init_weights(self) -> None:
        nn.init.normal_(self.offsets, std=1e-6)
        nn.init.ones_(self.bias)

    def fit_grid(self, saved: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        raise ConfigError(NOT_RESIZABLE.format(kind="Toeplitz gating units"))

    def token_weights(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """(W, b) for a sequence of n tokens: (n, n), (n,)."""
        check_length(n, self.num_tokens, any_shorter=True)
        offset = self.offset_index[:n, :n]
        if not self.causal:
            return self.offsets[offset + self.num_tokens - 1], self.bias[:n]
        return self.offsets[offset.clamp(min=0)].tril(), self.bias[:n]

    def forward(self, x: torch.Tensor, gate_residual: torch.Tensor | None = None) -> torch.Tensor:
        return gate(self, x, gate_residual)


@MIXERS.decorator("sequence_attention")
class SequenceAttention(Attention):
    """Multi-head self-attention (the vision part, timm's fused-qkv layout) with an optional causal mask."""

    def __init__(self, dim: int, num_heads: int, causal: bool = False, qkv_bias: bool = True, proj_bias: bool = True):
        super().__init__(dim, num_heads=num_heads, qkv_bias=qkv_bias, proj_bias=proj_bias)
        self.causal = causal

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, C // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)  # (B, heads, N, head_dim)
        x = F.scaled_dot_product_attention(q, k, v, is_causal=self.causal)
        return self.proj(x.transpose(1, 2).reshape(B, N, C))


class TinyAttention(nn.Module):
    """aMLP's single-head attention (Liu et al. 2021, Fig. 6): qkv of width d_attn from the block's normalised
    input, softmax(q k^T / sqrt(d_attn)) v, projected to d_out (the SGU's half width) and added to the gate."""

    def __init__(self, dim: int, d_out: int, d_attn: int, causal: bool) -> None:
        super().__init__()
        self.causal = causal
        self.qkv = nn.Linear(dim, 3 * d_attn)
        self.proj = nn.Linear(d_attn, d_out)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = self.qkv(x).chunk(3, dim=-1)  # (B, N, d_attn) each
        return self.proj(F.scaled_dot_product_attention(q, k, v, is_causal=self.causal))
