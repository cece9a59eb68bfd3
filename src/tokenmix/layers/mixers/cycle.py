"""CycleMLP's token mixer (Chen et al. 2022, "CycleMLP: A MLP-like Architecture for Dense Prediction",
arXiv 2107.10224; code ShoufaChen/CycleMLP) and the branch re-weighting it shares with Vision Permutator."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.init import trunc_normal_

from ...registry import MIXERS


def cycle_offsets(channels: int, kernel: int) -> torch.Tensor:
    """The fixed shift of each channel along the mixing axis: channel i moves by (i + k // 2) % k - k // 2,
    i.e. 0, +1, -1, 0, +1, -1, ... for k = 3 (official `gen_offset`)."""
    i = torch.arange(channels)
    return (i + kernel // 2) % kernel - kernel // 2


class CycleFC(nn.Module):
    """Cycle fully-connected layer (Chen et al. 2022, Eq. 4): a per-channel fixed shift along one axis, then a
    1x1 convolution over channels. Positions shifted in from outside the map are zero.

    The official code runs torchvision's deform_conv2d with constant integer offsets; that is exactly this
    shift followed by a 1x1 conv, which we compute directly (a gather, no bilinear sampling). The offsets are
    kept as the official (1, 2C, 1, 1) buffer `offset` (dy, dx per channel) so that the state dicts match.
    kernel_size (1, k) shifts along W, (k, 1) along H.
    """

    def __init__(self, dim: int, kernel_size: tuple[int, int]) -> None:
        super().__init__()
        if 1 not in kernel_size:
            raise ValueError(f"CycleFC needs a (1, k) or (k, 1) kernel, got {kernel_size}")
        self.axis = 3 if kernel_size[0] == 1 else 2  # NCHW axis the channels shift along
        k = max(kernel_size)
        self.reach = k // 2
        shifts = cycle_offsets(dim, k).float()
        offset = torch.zeros(dim, 2)
        offset[:, 0 if self.axis == 2 else 1] = shifts
        self.register_buffer("offset", offset.reshape(1, 2 * dim, 1, 1))
        self.weight = nn.Parameter(torch.empty(dim, dim, 1, 1))
        self.bias = nn.Parameter(torch.zeros(dim))
        nn.init.kaiming_uniform_(self.weight, a=5**0.5)

    def init_weights(self) -> None:
        trunc_normal_(self.weight, std=0.02)
        nn.init.zeros_(self.bias)

    def shift(self, x: torch.Tensor) -> torch.Tensor:
        """y_c(h, w) = x_c(h + dy_c, w + dx_c), zero outside the map."""
        x = x.transpose(self.axis, -1)  # the shifted axis last: (B, C, other, n)
        n = x.shape[-1]
        shifts = self.offset.view(-1, 2)[:, 0 if self.axis == 2 else 1].long()  # (C,)
        index = torch.arange(n, device=x.device)[None, :] + self.reach + shifts[:, None]  # (C, n) into padded
        index = index[None, :, None, :].expand(x.shape[0], -1, x.shape[2], -1)
        return F.pad(x, (self.reach, self.reach)).gather(-1, index).transpose(self.axis, -1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W)
        return F.conv2d(self.shift(x), self.weight, self.bias)


class BranchReweight(nn.Module):
    """Split attention over three branches (CycleMLP / ViP): an MLP C -> C/4 -> 3C on the spatial mean of
    their sum, softmax over the branch axis separately for each channel, then the weighted sum."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, dim // 4)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(dim // 4, 3 * dim)

    def forward(self, branches: tuple[torch.Tensor, ...]) -> torch.Tensor:  # three (B, H, W, C)
        B, _, _, C = branches[0].shape
        a = sum(branches).mean((1, 2))  # (B, C)
        a = self.fc2(self.act(self.fc1(a))).reshape(B, C, 3).softmax(dim=-1)  # per channel, over branches
        return sum(branch * a[:, None, None, :, k] for k, branch in enumerate(branches))


@MIXERS.decorator("cycle")
class CycleMixer(nn.Module):
    """CycleMLP block's token mixer (Fig. 3): CycleFC along W (`sfc_h`, kernel 1x3), CycleFC along H (`sfc_w`,
    kernel 3x1) and a channel Linear, re-weighted per channel, then a projection. Resolution-free."""

    layout = "nhwc"

    def __init__(self, dim: int, kernel: int = 3) -> None:
        super().__init__()
        self.mlp_c = nn.Linear(dim, dim, bias=False)
        self.sfc_h = CycleFC(dim, (1, kernel))
        self.sfc_w = CycleFC(dim, (kernel, 1))
        self.reweight = BranchReweight(dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, H, W, C)
        nchw = x.permute(0, 3, 1, 2)
        h = self.sfc_h(nchw).permute(0, 2, 3, 1)
        w = self.sfc_w(nchw).permute(0, 2, 3, 1)
        return self.proj(self.reweight((h, w, self.mlp_c(x))))
