"""sMLP, the sparse token mixer of sMLPNet (Tang et al. 2022, "Sparse MLP for Image Recognition: Is
Self-Attention Really Necessary?", AAAI, arXiv 2109.05422; code microsoft/SPACH `models/smlp.py`)."""

from __future__ import annotations

import torch
from torch import nn

from ...config import ConfigError
from ...registry import MIXERS
from ..grid import block_diagonal, side_factor


@MIXERS.decorator("sparse_mlp")
class SparseMlp(nn.Module):
    """x -> GELU(BN(x)), then fuse([x, mix along W, mix along H]) with a 1x1 conv 3C -> C (Eq. 3-5).

    Each token mixes only with its row and its column: a Linear(W, W) shared by all rows and channels and a
    Linear(H, H) shared by all columns. They are stored as the official 1x1 convs, names included: `proj_h`
    mixes along **W** and `proh_w` (sic) along **H**; the names are kept so that official weights load.
    At K times the grid side each is tiled block-diagonally along its side (K copies).
    """

    layout = "nchw"

    def __init__(self, dim: int, grid: tuple[int, int]) -> None:
        super().__init__()
        H, W = grid
        if H != W:
            raise ConfigError(f"sparse_mlp needs a square grid (as the official code), got {tuple(grid)}")
        self.norm = nn.BatchNorm2d(dim)
        self.act = nn.GELU()
        self.proj_h = nn.Conv2d(W, W, 1)
        self.proh_w = nn.Conv2d(H, H, 1)
        self.fuse = nn.Conv2d(3 * dim, dim, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W)
        x = self.act(self.norm(x))
        along_w = self.proj_h(x.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)  # W in the channel slot: (B, W, C, H)
        along_h = self.proh_w(x.permute(0, 2, 1, 3)).permute(0, 2, 1, 3)  # H in the channel slot: (B, H, C, W)
        return self.fuse(torch.cat([x, along_w, along_h], dim=1))

    def fit_grid(self, saved: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        out = {}
        for fc in ("proj_h", "proh_w"):
            new, old = getattr(self, fc).out_channels, saved[f"{fc}.weight"].shape[0]
            groups = torch.arange(new).reshape(side_factor(new, old, f"{fc}.weight"), -1)
            out[f"{fc}.weight"] = block_diagonal(saved[f"{fc}.weight"], groups, (0, 1))  # (W, W, 1, 1)
            out[f"{fc}.bias"] = block_diagonal(saved[f"{fc}.bias"], groups, (0,))
        return out
