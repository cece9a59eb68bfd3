"""Mixers that are fully-connected over the token axis: Mixer's token MLP, ResMLP's linear layer, gMLP's SGU.

Each holds weights of size N x N (or N x hidden), so the model is tied to the token count of its img_size.
All take (B, N, C) and mix along N. The weights are stored as nn.Linear(N, ...) (timm's layout), but applied
from the left, `W @ x` with x (B, N, C), instead of timm's `linear(x.transpose(1, 2)).transpose(1, 2)`: the
same sums in one batched GEMM whose output is already contiguous (B, N, C) -- about 2x faster for this op on
CPU, and no transposed copies downstream. It is spelled bmm over an expanded (stride-0) W, because
torch.matmul(W, x) with a W that requires grad "folds" into a transposed mm plus two copies.
"""

from __future__ import annotations

import torch
from torch import nn

from ...config import ConfigError
from ...registry import MIXERS
from ..acts import make_act
from ..grid import block_diagonal, tile_factor, tiled_token_groups
from ..norms import Affine


def mix_tokens(linear: nn.Linear, x: torch.Tensor) -> torch.Tensor:
    """linear applied along the token axis of x (B, N, C): (B, N_out, C)."""
    y = left_matmul(linear.weight, x)
    # the bias in the GEMM's dtype, as Linear's addmm adds it: under bf16 autocast a float32 bias would promote
    # the whole (B, M, C) output to float32 and cost a cast back before the next GEMM
    return y if linear.bias is None else y + linear.bias[:, None].to(y.dtype)


def left_matmul(weight: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """weight (M, N) @ x (B, N, C) -> (B, M, C), as one batched GEMM with no copies."""
    dtype = autocast_dtype(x.device.type)
    if dtype is not None:  # cast the (M, N) matrix, not autocast's copy of its B-fold expansion
        weight = weight.to(dtype)
    return torch.bmm(weight.expand(x.shape[0], -1, -1), x)


def autocast_dtype(device_type: str) -> torch.dtype | None:
    """The dtype autocast computes in on this device type now; None when it is off or the device has none
    (meta tensors, when a model is built only to count its shapes)."""
    try:
        enabled = torch.is_autocast_enabled(device_type)
    except RuntimeError:
        return None
    return torch.get_autocast_dtype(device_type) if enabled else None


@MIXERS.decorator("token_mlp")
class TokenMlp(nn.Module):
    """MLP-Mixer's token-mixing MLP (Tolstikhin et al. 2021, Eq. 1): N -> D_S -> N per channel.

    D_S = ratio * dim: the paper's Table 1 ties the token MLP width to the channel width (D_S = C/2), not to N.

    At another resolution (K times the grid side) both FCs are tiled block-diagonally over the K^2 tiles of
    the grid (tokenmix.layers.grid) and D_S grows to K^2 D_S with them: one copy of the trained MLP per tile.
    """

    layout = "nlc"
    is_mlp = True  # timm's Mixer init gives the biases of its own Linears N(0, 1e-6) (tokenmix.init)

    def __init__(
        self,
        dim: int,
        num_tokens: int,
        grid: tuple[int, int],
        ratio: float = 0.5,
        act: str = "gelu",
        drop: float = 0.0,
    ) -> None:
        super().__init__()
        self.grid, self.ratio = tuple(grid), ratio
        hidden = int(ratio * dim)
        self.fc1 = nn.Linear(num_tokens, hidden)
        self.act = make_act(act)
        self.drop1 = nn.Dropout(drop)
        self.fc2 = nn.Linear(hidden, num_tokens)
        self.drop2 = nn.Dropout(drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.drop1(self.act(mix_tokens(self.fc1, x)))  # (B, D_S, C)
        return self.drop2(mix_tokens(self.fc2, x))  # (B, N, C)

    def fit_args(self, saved: dict[str, torch.Tensor]) -> dict:
        """D_S = K^2 x the checkpoint's: the token-MLP ratio scaled with the tiling (tokenmix.resize)."""
        k = tile_factor(self.fc1.in_features, saved["fc1.weight"].shape[1], "token_mlp fc1.weight")
        return {} if k == 1 else {"ratio": self.ratio * k * k}

    def fit_grid(self, saved: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """One block-diagonal copy of fc1 (D_S, N) and fc2 (N, D_S) per tile, hidden units included."""
        groups = tiled_token_groups(self.grid, saved["fc1.weight"].shape[1], "token_mlp fc1.weight")
        return {
            "fc1.weight": block_diagonal(saved["fc1.weight"], groups, (1,), hidden_axis=0),
            "fc1.bias": saved["fc1.bias"].repeat(len(groups)),
            "fc2.weight": block_diagonal(saved["fc2.weight"], groups, (0,), hidden_axis=1),
            "fc2.bias": block_diagonal(saved["fc2.bias"], groups, (0,)),
        }


def fit_square_token_fc(proj: nn.Linear, grid: tuple[int, int], saved: dict[str, torch.Tensor], prefix: str) -> dict:
    """A Linear(N, N) over the tokens at K times the grid side: one block-diagonal copy per K x K tile."""
    weight = saved[f"{prefix}.weight"]
    groups = tiled_token_groups(grid, weight.shape[1], f"{prefix}.weight")
    out = {f"{prefix}.weight": block_diagonal(weight, groups, (0, 1))}
    if proj.bias is not None:
        out[f"{prefix}.bias"] = block_diagonal(saved[f"{prefix}.bias"], groups, (0,))
    return out


@MIXERS.decorator("linear_tokens")
class LinearTokens(nn.Module):
    """ResMLP's token mixer: one Linear(N, N) with bias, no activation (Touvron et al. 2021, Eq. 1).

    bias=False is the PoolFormer paper's "SpatialFC" hybrid mixer (Table 5). At another resolution the FC is
    tiled block-diagonally (see TokenMlp).
    """

    layout = "nlc"

    def __init__(self, dim: int, num_tokens: int, grid: tuple[int, int], bias: bool = True) -> None:
        super().__init__()
        self.grid = tuple(grid)
        self.proj = nn.Linear(num_tokens, num_tokens, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return mix_tokens(self.proj, x)

    def fit_grid(self, saved: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return fit_square_token_fc(self.proj, self.grid, saved, "proj")

    @torch.no_grad()
    def merge_branch(self, norm: nn.Module, layer_scale: nn.Module) -> tuple[nn.Module, nn.Module, nn.Module]:
        """ResMLP's whole token branch ls * proj(a * x + b) as one AffineLinearTokens (tokenmix.deploy)."""
        if not isinstance(norm, Affine):
            return norm, self, layer_scale
        scale = getattr(layer_scale, "scale", None)
        merged = AffineLinearTokens(self.proj, norm.weight, norm.bias, scale)
        return nn.Identity(), merged, nn.Identity()


class AffineLinearTokens(nn.Module):
    """ls * (W (a * x + b) + bias), with a, b, ls per channel and W over tokens, rewritten exactly as

        W (x * s) + B,   s = ls * a (C,),   B[p, c] = ls_c * (b_c * sum_q W[p, q] + bias_p)  (N, C)

    a per-channel affine passes through a token-mixing Linear as a column scale plus a constant map, since W
    mixes rows (tokens) and the affine acts on columns (channels). Three elementwise passes become two.
    """

    layout = "nlc"

    def __init__(
        self, proj: nn.Linear, weight: torch.Tensor, bias: torch.Tensor, layer_scale: torch.Tensor | None
    ) -> None:
        super().__init__()
        ls = torch.ones_like(weight) if layer_scale is None else layer_scale
        self.weight = nn.Parameter(proj.weight.detach().clone())  # (N, N)
        self.register_buffer("col_scale", (ls * weight).detach().clone())  # (C,)
        const = proj.weight.sum(1, keepdim=True) * bias + proj.bias[:, None]  # (N, C)
        self.register_buffer("const", (const * ls).detach().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return left_matmul(self.weight, x * self.col_scale) + self.const


@MIXERS.decorator("spatial_gating")
class SpatialGatingUnit(nn.Module):
    """gMLP's Spatial Gating Unit (Liu et al. 2021, Eq. 2-4): u * (W norm(v) + b), with (u, v) = split(x).

    `dim` is the width of the gated MLP's hidden layer; the output has dim/2 channels. W starts near zero and
    b at one, so every block starts as a plain MLP ("near identity"), which the paper needs for stable training.
    At another resolution W is tiled block-diagonally (see TokenMlp); the channel norm is not grid-sized.
    """

    layout = "nlc"

    def __init__(self, dim: int, num_tokens: int, grid: tuple[int, int], eps: float = 1e-5) -> None:
        super().__init__()
        self.grid = tuple(grid)
        self.norm = nn.LayerNorm(dim // 2, eps=eps)
        self.proj = nn.Linear(num_tokens, num_tokens)

    def init_weights(self) -> None:
        nn.init.normal_(self.proj.weight, std=1e-6)
        nn.init.ones_(self.proj.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u, v = x.chunk(2, dim=-1)
        v = mix_tokens(self.proj, self.norm(v))
        return u * v

    def fit_grid(self, saved: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return fit_square_token_fc(self.proj, self.grid, saved, "proj")


@MIXERS.decorator("token_ff")
class TokenFeedForward(nn.Module):
    """The token half of the feed-forward-only ViT (Melas-Kyriazi 2021, "Do You Even Need Attention?"):
    LayerNorm over the *token* axis, then an MLP N -> ratio * N -> N per channel, class token included.

    The norm is part of the mixer because it normalises tokens, not channels: no channel norm of the block
    can stand in for it. Use it with the "channel_first" block, which runs the channel MLP before it.
    """

    layout = "nlc"

    def __init__(self, dim: int, num_tokens: int, ratio: float = 4.0, act: str = "gelu", eps: float = 1e-6) -> None:
        super().__init__()
        hidden = int(ratio * num_tokens)
        self.norm = nn.LayerNorm(num_tokens, eps=eps)
        self.fc1 = nn.Linear(num_tokens, hidden)
        self.act = make_act(act)
        self.fc2 = nn.Linear(hidden, num_tokens)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.transpose(1, 2)  # (B, C, N): normalise and mix tokens
        return self.fc2(self.act(self.fc1(self.norm(x)))).transpose(1, 2)

    def fit_grid(self, saved: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        raise ConfigError(
            "token_ff mixers cannot be resized to another resolution: their token norm and MLP mix the class "
            "token with the patches, so no tiling keeps the trained map"
        )
