"""Each mixer's learned weights as maps on its stage's token grid, the pictures of the papers:

- MLP-Mixer (Tolstikhin et al. 2021, Fig. 5): each hidden unit of the first token-mixing layer is a weight
  over the N input tokens, drawn as an H x W image;
- gMLP (Liu et al. 2021, Fig. 4) and ResMLP (Touvron et al. 2021, Fig. 3): row t of the N x N token matrix
  says how much output token t takes from every position: one H x W map per output token;
- ConvMixer (Trockman & Kolter 2022, Fig. 3): the k x k depthwise kernels, one per channel;
- GFNet (Rao et al. 2021, Fig. 3): |K|, the magnitude of each channel's learned frequency response over the
  rfft2 grid (H x (W // 2 + 1)), low frequencies at the corners.

One rule per part class, so a new mixer gets its picture by adding a rule here; one walk (`weight_maps`) asks
every block of the first stages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from ..layers.mixers.conv import DepthwiseConv
from ..layers.mixers.fourier import GlobalFilter
from ..layers.mixers.token_mlp import LinearTokens, SpatialGatingUnit, TokenMlp
from ..metaformer import MetaFormer

MAX_MAPS = 64  # an 8 x 8 grid of maps per picture, as in the papers' figures


@dataclass(frozen=True)
class WeightMaps:
    name: str  # file stem: "<kind>_stage<i>_block<j>"
    title: str
    maps: torch.Tensor  # (K, h, w) float
    symmetric: bool  # signed weights (a diverging colour map centred at 0) or magnitudes


def _token_rows(weight: torch.Tensor, grid: tuple[int, int], prefix: int) -> torch.Tensor:
    """(K, N) weights over tokens (class tokens first) -> (K, H, W) maps over the patch grid."""
    return weight[:, prefix:].reshape(weight.shape[0], *grid)


def token_mlp_maps(m: TokenMlp, grid: tuple[int, int], prefix: int) -> torch.Tensor:
    return _token_rows(m.fc1.weight, grid, prefix)  # (D_S, H, W): one map per hidden unit


def token_matrix_maps(m: nn.Module, grid: tuple[int, int], prefix: int) -> torch.Tensor:
    return _token_rows(m.proj.weight[prefix:], grid, prefix)  # (N, H, W): one map per output token


def depthwise_kernels(m: DepthwiseConv, grid: tuple[int, int], prefix: int) -> torch.Tensor:
    return m.weight[:, 0]  # (C, k, k)


def global_filter_magnitude(m: GlobalFilter, grid: tuple[int, int], prefix: int) -> torch.Tensor:
    return torch.view_as_complex(m.complex_weight.float().contiguous()).abs().permute(2, 0, 1)  # (C, H, W//2+1)


# part class -> (picture kind, title, maps function, signed?)
RULES: dict[type, tuple[str, str, Callable[..., torch.Tensor], bool]] = {
    TokenMlp: ("token_mixing", "token-mixing weights (first layer, one map per hidden unit)", token_mlp_maps, True),
    SpatialGatingUnit: ("spatial_gating", "spatial gating weights (one map per output token)", token_matrix_maps, True),
    LinearTokens: ("token_linear", "token-linear weights (one map per output token)", token_matrix_maps, True),
    DepthwiseConv: ("depthwise_kernels", "depthwise kernels (one per channel)", depthwise_kernels, True),
    GlobalFilter: (
        "global_filter",
        "global filter |K| over frequencies (one per channel)",
        global_filter_magnitude,
        False,
    ),
}


@torch.no_grad()
def weight_maps(model: MetaFormer, blocks: int = 2) -> list[WeightMaps]:
    """The maps of every part with a rule in the first `blocks` blocks of the model (counted over stages)."""
    out, seen = [], 0
    for i, stage in enumerate(model.stages):
        for j, block in enumerate(stage.blocks):
            if seen == blocks:
                return out
            seen += 1
            for module in block.modules():
                rule = RULES.get(type(module))
                if rule is None:
                    continue
                kind, title, fn, symmetric = rule
                maps = fn(module, stage.grid, model.num_prefix_tokens).detach().float().cpu()[:MAX_MAPS]
                out.append(WeightMaps(f"{kind}_stage{i}_block{j}", f"{title}, stage {i} block {j}", maps, symmetric))
    return out
