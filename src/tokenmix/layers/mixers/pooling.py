"""Parameter-free mixers: PoolFormer's pooling and the identity of the MetaFormer ablations."""

from __future__ import annotations

import torch
from torch import nn

from ...registry import MIXERS
from ..fold import scale_norm_output_


class PerChannelLinear:
    """Mixin for mixers that act on each channel alone and linearly: mixer(s * x) = s * mixer(x) for a
    per-channel s. A LayerScale after such a mixer goes exactly into the pre-norm's weight and bias."""

    @torch.no_grad()
    def merge_branch(self, norm: nn.Module, layer_scale: nn.Module) -> tuple[nn.Module, nn.Module, nn.Module]:
        scale = getattr(layer_scale, "scale", None)
        if scale is not None and scale_norm_output_(norm, scale):
            layer_scale = nn.Identity()
        return norm, self, layer_scale


@MIXERS.decorator("pool")
class Pooling(PerChannelLinear, nn.Module):
    """avgpool(x) - x (Yu et al. 2022, Eq. 4). The block adds x back, so the subtraction leaves the average.

    Padding is excluded from the average (count_include_pad=False), as in the official code; an exporter that
    includes it changes the border outputs. subtract_input=False gives the plain avgpool(x) of the ablation.
    """

    layout = "nchw"

    def __init__(self, dim: int, pool_size: int = 3, subtract_input: bool = True) -> None:
        super().__init__()
        self.pool = nn.AvgPool2d(pool_size, stride=1, padding=pool_size // 2, count_include_pad=False)
        self.subtract_input = subtract_input

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.pool(x)
        if not self.subtract_input:
            return y
        return y.sub_(x) if not torch.is_grad_enabled() else y - x  # in place on pool's fresh output


@MIXERS.decorator("identity")
class IdentityMixer(PerChannelLinear, nn.Module):
    """No token mixing at all: IdentityFormer (Yu et al. 2022b) and PoolFormer's Table 5 ablation."""

    layout = "nchw"

    def __init__(self, dim: int) -> None:
        super().__init__()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x
