"""Multi-head self-attention (Vaswani et al. 2017) as a token mixer: ViT, DeiT and the MetaFormer hybrids."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ...config import ConfigError
from ...registry import MIXERS
from ..fold import absorb_input_affine_, fold_norm_into, scale_output_


@MIXERS.decorator("attention")
class Attention(nn.Module):
    """softmax(q k^T / sqrt(d)) v over all tokens, with a fused qkv projection (timm's weight layout).

    Give either num_heads (ViT: dim / 64) or head_dim (PoolFormer's hybrids and CAFormer: 32). CAFormer has no
    bias in either projection (qkv_bias=False, proj_bias=False).
    """

    layout = "nlc"

    def __init__(
        self,
        dim: int,
        num_heads: int | None = None,
        head_dim: int | None = None,
        qkv_bias: bool = True,
        proj_bias: bool = True,
        attn_drop: float = 0.0,
        proj_drop: float = 0.0,
    ) -> None:
        super().__init__()
        if (num_heads is None) == (head_dim is None):
            raise ConfigError("attention needs exactly one of num_heads or head_dim")
        self.num_heads = num_heads or dim // head_dim
        if dim % self.num_heads:
            raise ConfigError(f"attention dim {dim} is not divisible by num_heads {self.num_heads}")
        self.attn_drop = attn_drop
        self.qkv = nn.Linear(dim, 3 * dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim, bias=proj_bias)
        self.proj_drop = nn.Dropout(proj_drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, N, C = x.shape
        qkv = self.qkv(x).reshape(B, N, 3, self.num_heads, C // self.num_heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv.unbind(0)  # (B, heads, N, head_dim)
        x = F.scaled_dot_product_attention(q, k, v, dropout_p=self.attn_drop if self.training else 0.0)
        x = x.transpose(1, 2).reshape(B, N, C)
        return self.proj_drop(self.proj(x))

    # tokenmix.deploy
    def absorb_input_affine_(self, weight: torch.Tensor | None, bias: torch.Tensor | None) -> None:
        absorb_input_affine_(self.qkv, weight, bias)

    @torch.no_grad()
    def merge_branch(self, norm: nn.Module, layer_scale: nn.Module) -> tuple[nn.Module, nn.Module, nn.Module]:
        """LayerScale into the output projection, the pre-norm's affine into qkv."""
        scale = getattr(layer_scale, "scale", None)
        if scale is not None:
            scale_output_(self.proj, scale)
            layer_scale = nn.Identity()
        return fold_norm_into(norm, self), self, layer_scale
