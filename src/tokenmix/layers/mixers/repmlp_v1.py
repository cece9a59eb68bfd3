"""The first RepMLP (Ding et al. 2021, "RepMLP: Re-parameterizing Convolutions into Fully-connected Layers for
Image Recognition", arXiv 2105.01883; code DingXiaoH/RepMLP `repmlp.py`, `repmlp_blocks.py` before 82c0ea6),
the part that RepMLP-ResNet-50 puts in place of a bottleneck's 3x3 conv.

Why a second part beside `repmlp.py` (RepMLPNet's): v1 is a different operator, not an option of v2.
- Its partition FC (fc3) mixes channels *and* positions: a grouped FC over the C*h*w values of each h x w
  partition (g groups of C/g channels), where v2's mixes positions only, one h*w matrix per shareset.
- Its BN after fc3 is per output value (BatchNorm1d over O*h*w), v2's per shareset.
- Its conv branches are grouped k x k convs C -> C (g groups), v2's depthwise over sharesets.
- Its global perceptron *adds* a per-partition, per-channel vector (avg-pool each partition, BN, FC-ReLU-FC over
  the C*(H/h)*(W/w) pooled values) to the input; v2's multiplies the output by a per-channel gate.
The conv -> FC conversion is shared with v2 (`conv_as_fc`), the BN folds with everything (tokenmix.layers.fold).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ...config import ConfigError
from ...registry import MIXERS
from ..conv_bn import ConvBn
from ..fold import absorb_input_affine_, batchnorm_affine, fold_bn
from .repmlp import conv_as_fc

FC3_INITS = ("default", "orthogonal")  # PyTorch's conv default; the official code's orthogonal_ (repmlp.py)


class RepMLPv1(nn.Module):
    """RepMLP v1 on a fixed H x W map cut into h x w partitions (Fig. 1):

        x' = x + fc2(relu(fc1(bn(avgpool_hxw(x)))))   (global perceptron, only when there is more than 1 partition)
        y  = bn1d(fc3(partition(x'))) + sum_k bn(conv_k(partition(x')))   (partition + local perceptron)

    `reparameterize()` folds the BNs and every conv branch into fc3 (with bias), and avg-pool's BN into fc1.
    deploy=True builds that merged form directly.
    """

    layout = "nchw"

    def __init__(
        self,
        dim: int,
        grid: tuple[int, int],
        partition: tuple[int, int] = (7, 7),
        conv_kernels: tuple[int, ...] = (1, 3, 5),
        fc3_groups: int = 1,
        gp_reduction: int = 1,
        deploy: bool = False,
        fc3_init: str = "default",
    ) -> None:
        super().__init__()
        (H, W), (h, w) = grid, partition
        if H % h or W % w:
            raise ConfigError(f"repmlp_v1 needs the map {H}x{W} to be a multiple of the partition {h}x{w}")
        if dim % fc3_groups:
            raise ConfigError(f"repmlp_v1 dim {dim} is not divisible by fc3_groups {fc3_groups}")
        if fc3_init not in FC3_INITS:
            raise ConfigError(f"repmlp fc3_init must be one of {', '.join(FC3_INITS)}, got {fc3_init!r}")
        self.dim, self.h, self.w, self.groups, self.fc3_init = dim, h, w, fc3_groups, fc3_init
        self.hp, self.wp = H // h, W // w
        self.conv_kernels, self.deployed = tuple(conv_kernels), deploy
        self.has_global = self.hp * self.wp > 1
        if self.has_global:
            pooled = dim * self.hp * self.wp
            self.avg_bn = nn.Identity() if deploy else nn.BatchNorm2d(dim)
            self.fc1 = nn.Linear(pooled, pooled // gp_reduction)
            self.fc2 = nn.Linear(pooled // gp_reduction, pooled)
        n = dim * h * w
        self.fc3 = nn.Conv2d(n, n, 1, groups=fc3_groups, bias=deploy)
        self.fc3_bn = nn.Identity() if deploy else nn.BatchNorm1d(n)
        for k in () if deploy else self.conv_kernels:
            self.add_module(f"repconv{k}", ConvBn(dim, dim, k, groups=fc3_groups))

    def init_weights(self) -> None:
        if self.fc3_init == "orthogonal":
            nn.init.orthogonal_(self.fc3.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W)
        B, C, H, W = x.shape
        h, w, hp, wp = self.h, self.w, self.hp, self.wp
        x = x.reshape(B, C, hp, h, wp, w)
        if self.has_global:  # one vector per (channel, partition), added to all h*w positions of the partition
            pooled = self.avg_bn(F.avg_pool2d(x.reshape(B, C, H, W), (h, w)))  # (B, C, hp, wp)
            x = x + self.fc2(F.relu(self.fc1(pooled.flatten(1)))).reshape(B, C, hp, 1, wp, 1)
        parts = x.permute(0, 2, 4, 1, 3, 5)  # (B, hp, wp, C, h, w)
        out = self.fc3_bn(self.fc3(parts.reshape(-1, C * h * w, 1, 1)).flatten(1))  # mix channels x positions
        if not self.deployed:
            local = parts.reshape(-1, C, h, w)
            out = out + sum(getattr(self, f"repconv{k}")(local) for k in self.conv_kernels).flatten(1)
        return out.reshape(B, hp, wp, C, h, w).permute(0, 3, 1, 4, 2, 5).reshape(B, C, H, W)

    @torch.no_grad()
    def reparameterize(self) -> None:
        """Inference form (eval-mode statistics): fc3 + BN + conv branches -> one fc3 with bias; avg-pool's BN
        -> fc1 (it is affine per channel and fc1 is linear in the pooled values). The name timm's
        `reparameterize_model` calls."""
        if self.deployed:
            return
        weight, bias = fold_bn(self.fc3.weight, self.fc3_bn)  # (C*h*w, C/g*h*w, 1, 1), BN per output value
        if self.conv_kernels:  # the branches' sum is one conv with the largest kernel (smaller ones zero-padded)
            largest = max(self.conv_kernels)
            kernel = torch.zeros_like(getattr(self, f"repconv{largest}").conv.weight)
            kbias = kernel.new_zeros(kernel.shape[0])
            for k in self.conv_kernels:
                branch = getattr(self, f"repconv{k}")
                k_weight, k_bias = fold_bn(branch.conv.weight, branch.bn)
                kernel, kbias = kernel + F.pad(k_weight, [(largest - k) // 2] * 4), kbias + k_bias
                delattr(self, f"repconv{k}")
            fc_weight, fc_bias = conv_as_fc(kernel, kbias, (self.h, self.w), self.groups)  # one conv -> FC
            weight, bias = weight + fc_weight.reshape_as(weight), bias + fc_bias
        self.fc3 = nn.Conv2d(weight.shape[0], weight.shape[0], 1, groups=self.groups, bias=True).to(weight)
        self.fc3.weight.copy_(weight)
        self.fc3.bias.copy_(bias)
        self.fc3_bn = nn.Identity()
        if self.has_global:  # fc1(a * v + c) = (W diag a) v + (W c + b), a and c repeated over the partitions
            scale, shift = batchnorm_affine(self.avg_bn)
            per_value = self.hp * self.wp  # pooled values are flattened channel-major
            absorb_input_affine_(self.fc1, scale.repeat_interleave(per_value), shift.repeat_interleave(per_value))
            self.avg_bn = nn.Identity()
        self.deployed = True

    merge = reparameterize

    def fit_grid(self, saved: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        raise ConfigError(
            "repmlp_v1 mixers cannot be resized to another resolution: the global perceptron's FCs are sized "
            "by the number of partitions"
        )


@MIXERS.decorator("repmlp_light")
class RepMLPLightUnit(nn.Module):
    """The middle of a RepMLP Light Block (Fig. 3): RepMLP v1 -> ReLU at the block's width (C/8 in the paper)."""

    layout = "nchw"

    def __init__(
        self,
        dim: int,
        grid: tuple[int, int],
        partition: tuple[int, int] = (7, 7),
        conv_kernels: tuple[int, ...] = (1, 3, 5),
        fc3_groups: int = 1,
        gp_reduction: int = 1,
        deploy: bool = False,
        fc3_init: str = "default",
    ) -> None:
        super().__init__()
        self.repmlp = RepMLPv1(dim, grid, partition, conv_kernels, fc3_groups, gp_reduction, deploy, fc3_init)
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.repmlp(x))


@MIXERS.decorator("repmlp_bottleneck")
class RepMLPBottleneckUnit(nn.Module):
    """The middle of a RepMLP Bottleneck Block (Fig. 3): 3x3 conv-BN-ReLU down to dim/r, RepMLP v1 -> ReLU,
    3x3 conv-BN-ReLU back to dim (r = 2 in stage 2, 4 in stage 3). deploy=True: the RepMLP merged and both
    convs' BNs fused into their biases (the official deploy form); `reparameterize()` fuses the convs."""

    layout = "nchw"

    def __init__(
        self,
        dim: int,
        grid: tuple[int, int],
        r: int = 2,
        partition: tuple[int, int] = (7, 7),
        conv_kernels: tuple[int, ...] = (1, 3, 5),
        fc3_groups: int = 1,
        gp_reduction: int = 1,
        deploy: bool = False,
        fc3_init: str = "default",
    ) -> None:
        super().__init__()
        self.reduce = ConvBn(dim, dim // r, 3, fused=deploy)
        self.repmlp = RepMLPv1(dim // r, grid, partition, conv_kernels, fc3_groups, gp_reduction, deploy, fc3_init)
        self.expand = ConvBn(dim // r, dim, 3, fused=deploy)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.reduce(x))
        return F.relu(self.expand(F.relu(self.repmlp(x))))

    def reparameterize(self) -> None:
        """Fuse the two convs' BNs (eval statistics); the RepMLP merges itself (its own `reparameterize`)."""
        self.reduce.fuse_bn_()
        self.expand.fuse_bn_()

    merge = reparameterize
