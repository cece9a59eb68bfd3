"""What every block kind shares: the Block contract and the residual scaffolding."""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from ..drop import DropPath
from ..fold import fold_norm_into


class Block(nn.Module):
    """The contract of a block kind (built by tokenmix.layers.build from the stage's `block` part):

    - constructor (stage: StageCfg, ctx: dict, drop_path: float, **its own arguments from the config); ctx holds
      the build-time facts (dim, layout, num_tokens, grid; and in_dim for a block that takes the stage input);
    - `uses`: the StageCfg parts it builds, of config.BLOCK_PARTS. config.validate refuses a non-default value for any
      other, and `tokenmix info` prints only these;
    - `takes_stage_input`: the stage's first block receives the stage input itself (width in_dim, the incoming
      grid) and may change both, as a downsample would (ResNet's projecting bottleneck); then that block's
      out_grid() and reduction say how, with the same meaning as a downsample's.
    """

    uses: ClassVar[tuple[str, ...]] = ("mixer", "norm", "mlp")
    takes_stage_input: ClassVar[bool] = False
    reduction: int = 1  # how many times smaller its output grid is than its input grid

    def out_grid(self, grid: tuple[int, int]) -> tuple[int, int]:
        return grid


class Scale(nn.Module):
    """x * scale, one learnable factor per channel: LayerScale (Touvron et al. 2021b) or ResScale (Shleifer 2021)."""

    def __init__(self, dim: int, init: float, layout: str) -> None:
        super().__init__()
        self.shape = (-1, 1, 1) if layout == "nchw" else (-1,)
        self.scale = nn.Parameter(torch.full((dim,), float(init)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale.view(self.shape)


def residual_add(x: torch.Tensor, branch: torch.Tensor) -> torch.Tensor:
    """x + branch. Without autograd (inference), written into `branch`, the branch's fresh output, when that
    changes nothing but the allocation: same shape, the result's dtype (not a bf16 branch under autocast), no
    aliasing. Eager CPU inference pays for every new activation (glibc mmaps the large ones)."""
    if (
        not torch.is_grad_enabled()
        and not torch.compiler.is_compiling()  # graph compilers plan buffers themselves (and fake data_ptr)
        and branch.shape == x.shape
        and branch.dtype == torch.result_type(branch, x)
        and branch.data_ptr() != x.data_ptr()
    ):
        return branch.add_(x)
    return x + branch


def optional_scale(dim: int, init: float | None, layout: str) -> nn.Module:
    return nn.Identity() if init is None else Scale(dim, init, layout)


def drop_path_or_identity(rate: float) -> nn.Module:
    return DropPath(rate) if rate > 0 else nn.Identity()


@torch.no_grad()
def merge_channel_branch(norm: nn.Module, mlp: nn.Module, layer_scale: nn.Module) -> tuple[nn.Module, nn.Module]:
    """ls * mlp(norm(x)) with the LayerScale folded into the MLP's last layer and the norm's affine into its
    first (tokenmix.deploy); returns what is left of (norm, layer_scale)."""
    if isinstance(layer_scale, Scale) and hasattr(mlp, "scale_output_"):
        mlp.scale_output_(layer_scale.scale)
        layer_scale = nn.Identity()
    return fold_norm_into(norm, mlp), layer_scale
