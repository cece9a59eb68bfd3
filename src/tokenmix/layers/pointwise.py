"""A 1x1 convolution that runs as a matrix product when its input is channels_last.

A 1x1 conv over an (N, C, H, W) map is a Linear over C at every position. When the map is laid out channels_last
(NHWC in memory) the permuted (N, H, W, C) view is contiguous, so `F.linear` on it is one GEMM, with no reorder
into oneDNN's blocked formats; its backward is two GEMMs. Measured on the 2-core EPYC under bf16 autocast
(`bench/pointwise.py --step poolformer_s12_cifar --batch 128 --threads 2`, quiet): the PoolFormer-S12 CIFAR
training step in channels_last runs at 1.91x [1.88-2.08] the NCHW step with it, 1.36x [1.34-1.45] with torch's
1x1 convolution. Per layer (bench/pointwise.py, one thread) it is 0.26-0.71x the channels_last convolution's time
on 4x4 and 2x2 maps and 1.0-1.24x on 8x8 and 16x16 ones, so the gain is in the small late stages. An NCHW input takes
the ordinary convolution. Same parameters, keys and function as nn.Conv2d(kernel_size=1) (groups 1, no padding,
stride 1).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.fx._symbolic_trace import is_fx_symbolic_tracing


def is_channels_last(x: torch.Tensor) -> bool:
    """NHWC strides and not also NCHW ones (a map with C == 1 or H == W == 1 is both: it takes the conv)."""
    return x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()


class PointwiseConv(nn.Conv2d):
    def __init__(self, dim_in: int, dim_out: int, bias: bool = True) -> None:
        super().__init__(dim_in, dim_out, kernel_size=1, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if is_fx_symbolic_tracing() or not is_channels_last(x):  # a traced tensor has no strides to look at
            return super().forward(x)
        y = F.linear(x.permute(0, 2, 3, 1), self.weight.flatten(1), self.bias)  # (N, H, W, C_out), contiguous
        return y.permute(0, 3, 1, 2)  # (N, C_out, H, W) in NHWC strides: channels_last, as a conv returns
