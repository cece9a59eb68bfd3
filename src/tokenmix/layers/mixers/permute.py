"""Vision Permutator's token mixer (Hou et al. 2022, "Vision Permutator: A Permutable MLP-Like Architecture
for Visual Recognition", arXiv 2106.12368; code Andrew-Qibin/VisionPermutator)."""

from __future__ import annotations

import torch
from torch import nn

from ...config import ConfigError
from ...registry import MIXERS
from .cycle import BranchReweight


@MIXERS.decorator("permute")
class WeightedPermuteMlp(nn.Module):
    """Permute-MLP (Sec. 3.2): the C channels are split into `segment_dim` segments of S = C / segment_dim;
    the height branch moves H into the channel axis and mixes the (H, S) pairs of each segment with one
    Linear(H*S, H*S); the width branch does the same along W; a third branch mixes channels. The three are
    re-weighted per channel (as in CycleMLP) and projected.

    As in the official code the H and W Linears are Linear(C, C), which requires H * S == C, i.e. the grid
    side must equal segment_dim: the model is tied to its img_size.
    """

    layout = "nhwc"

    def __init__(self, dim: int, grid: tuple[int, int], segment_dim: int, qkv_bias: bool = False) -> None:
        super().__init__()
        if dim % segment_dim or any(g * (dim // segment_dim) != dim for g in grid):
            raise ConfigError(
                f"permute mixer needs grid sides == segment_dim ({segment_dim}) and dim divisible by it; "
                f"got grid {tuple(grid)}, dim {dim}"
            )
        self.segment_dim = segment_dim
        self.mlp_c = nn.Linear(dim, dim, bias=qkv_bias)
        self.mlp_h = nn.Linear(dim, dim, bias=qkv_bias)
        self.mlp_w = nn.Linear(dim, dim, bias=qkv_bias)
        self.reweight = BranchReweight(dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, H, W, C)
        B, H, W, C = x.shape
        seg, S = self.segment_dim, C // self.segment_dim
        x5 = x.reshape(B, H, W, seg, S)
        # height branch: (B, seg, W, H*S), mix the H*S axis
        h = self.mlp_h(x5.permute(0, 3, 2, 1, 4).reshape(B, seg, W, H * S))
        h = h.reshape(B, seg, W, H, S).permute(0, 3, 2, 1, 4).reshape(B, H, W, C)
        # width branch: (B, H, seg, W*S), mix the W*S axis
        w = self.mlp_w(x5.permute(0, 1, 3, 2, 4).reshape(B, H, seg, W * S))
        w = w.reshape(B, H, seg, W, S).permute(0, 1, 3, 2, 4).reshape(B, H, W, C)
        return self.proj(self.reweight((h, w, self.mlp_c(x))))
