"""The written contract of the parts that change the token grid: stems and downsamples.

The skeleton sizes every grid-dependent part before any data flows, so each of these says, as data, what it
produces from an input grid. A block kind that takes the stage input (ResNet's projecting bottleneck, see
tokenmix.layers.blocks.base.Block) answers the same `out_grid` and `reduction`.
"""

from __future__ import annotations

from typing import ClassVar

from torch import nn


class GridChange(nn.Module):
    """A part from one feature map to another on a (possibly) smaller grid."""

    layout: ClassVar[str] = "nchw"  # the layout of its output ("nchw" or "nlc")
    reduction: int = 1  # input side / output side: what feature_info reports
    fixed_input_size: bool = False  # its weights are sized by the grid (a position embedding)

    def out_grid(self, grid: tuple[int, int]) -> tuple[int, int]:
        raise NotImplementedError(f"{type(self).__name__} must say which grid it produces")


class Stem(GridChange):
    """image (B, in_chans, H, W) -> the first stage's input. Constructor: (in_chans, dim, [img_size], **args)."""

    num_prefix_tokens: int = 0  # tokens before the patches in an "nlc" output (ViT's class token)
    out_dim: int  # its output width: the first stage's dim, unless the first block projects (ResNet: 64)


class Downsample(GridChange):
    """A stage's entry (NCHW in and out) from in_dim to the stage's dim. Constructor: (in_dim, dim, [grid], ...)."""
