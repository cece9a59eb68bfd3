"""RepMLP, the re-parameterised token mixer of RepMLPNet (Ding et al. 2022, "RepMLPNet: Hierarchical Vision
MLP with Re-parameterized Locality", CVPR, arXiv 2112.11081; code DingXiaoH/RepMLP `repmlpnet.py`)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ...config import ConfigError
from ...registry import MIXERS
from ..conv_bn import ConvBn
from ..fold import fold_bn


class GlobalPerceptron(nn.Module):
    """A per-channel gate from the global average: sigmoid(fc2(relu(fc1(mean_hw(x))))), C -> C/r -> C."""

    def __init__(self, dim: int, reduce: int = 4) -> None:
        super().__init__()
        self.fc1 = nn.Conv2d(dim, dim // reduce, 1)
        self.fc2 = nn.Conv2d(dim // reduce, dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.fc2(F.relu(self.fc1(x.mean((2, 3), keepdim=True)))))


def conv_as_fc(
    kernel: torch.Tensor, bias: torch.Tensor, grid: tuple[int, int], groups: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The grouped FC equal to the zero-padded conv `kernel` (O, C/g, k, k), g = groups, on an h x w map
    (Sec. 3.3: convolve the identity). Returns the weight (O*h*w, C/g*h*w), rows and columns channel-major as
    in a grouped 1x1 conv over the flattened map, and the bias (O*h*w,). Column p of group j is the conv's
    response to a one-hot image at input position p of that group."""
    h, w = grid
    n_in = kernel.shape[1] * h * w  # inputs of one group
    one_hot = torch.eye(n_in, device=kernel.device, dtype=kernel.dtype).reshape(n_in, -1, h, w)
    response = F.conv2d(one_hot.repeat(1, groups, 1, 1), kernel, padding=kernel.shape[-1] // 2, groups=groups)
    return response.reshape(n_in, -1).T, bias.repeat_interleave(h * w)


@MIXERS.decorator("repmlp")
class RepMLP(nn.Module):
    """RepMLP block (Sec. 3): an FC over the h*w positions of each h x w partition ("channel perceptron" fc3,
    one matrix per shareset: channel c uses set c % S), plus, during training only, depthwise k x k conv
    branches inside each partition ("local perceptron", k in conv_kernels), all times the Global Perceptron.

    `merge()` folds every BN and turns each conv into the FC it equals on an h x w partition with zero padding
    (Sec. 3.3: convolve the identity), adds them to fc3 and drops the branches. deploy=True builds the merged
    form directly (fc3 with bias, no BN, no branches).
    """

    layout = "nchw"

    def __init__(
        self,
        dim: int,
        grid: tuple[int, int],
        num_sharesets: int = 1,
        conv_kernels: tuple[int, ...] = (1, 3),
        gp_reduce: int = 4,
        deploy: bool = False,
    ) -> None:
        super().__init__()
        if dim % num_sharesets:
            raise ConfigError(f"repmlp dim {dim} is not divisible by num_sharesets {num_sharesets}")
        self.h, self.w = grid
        self.sets, self.conv_kernels = num_sharesets, tuple(conv_kernels)
        hw = self.h * self.w
        self.gp = GlobalPerceptron(dim, gp_reduce)
        self.fc3 = nn.Conv2d(num_sharesets * hw, num_sharesets * hw, 1, groups=num_sharesets, bias=deploy)
        self.fc3_bn = nn.Identity() if deploy else nn.BatchNorm2d(num_sharesets)
        self.deployed = deploy
        for k in () if deploy else self.conv_kernels:
            self.add_module(f"repconv{k}", ConvBn(num_sharesets, num_sharesets, k, groups=num_sharesets))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W), H and W multiples of the partition
        B, C, H, W = x.shape
        h, w, S = self.h, self.w, self.sets
        hp, wp = H // h, W // w
        parts = x.reshape(B, C, hp, h, wp, w).permute(0, 2, 4, 1, 3, 5)  # (B, hp, wp, C, h, w)
        out = self.fc3(parts.reshape(-1, S * h * w, 1, 1)).reshape(-1, S, h, w)  # mix the h*w positions
        out = self.fc3_bn(out)
        if not self.deployed:
            local = parts.reshape(-1, S, h, w)
            out = out + sum(getattr(self, f"repconv{k}")(local) for k in self.conv_kernels)
        out = out.reshape(B, hp, wp, C, h, w).permute(0, 3, 1, 4, 2, 5).reshape(B, C, H, W)
        return out * self.gp(x)

    def conv_as_fc(self, kernel: torch.Tensor, bias: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The grouped FC (S*h*w, h*w) equal to the depthwise conv `kernel` (S, 1, k, k) on an h x w partition."""
        return conv_as_fc(kernel, bias, (self.h, self.w), groups=self.sets)

    @torch.no_grad()
    def reparameterize(self) -> None:
        """Fold the BNs and the conv branches into one fc3 with bias (eval-mode statistics). The name is the
        one timm's `reparameterize_model` calls; tokenmix.deploy calls it as part of `merge`."""
        if self.deployed:
            return
        weight, bias = fold_bn(self.fc3.weight, self.fc3_bn)  # (S*hw, hw, 1, 1)
        for k in self.conv_kernels:
            branch = getattr(self, f"repconv{k}")
            kernel, kbias = fold_bn(branch.conv.weight, branch.bn)
            fc_weight, fc_bias = self.conv_as_fc(kernel, kbias)
            weight, bias = weight + fc_weight.reshape_as(weight), bias + fc_bias
            delattr(self, f"repconv{k}")
        self.fc3 = nn.Conv2d(weight.shape[0], weight.shape[0], 1, groups=self.sets, bias=True).to(weight)
        self.fc3.weight.copy_(weight)
        self.fc3.bias.copy_(bias)
        self.fc3_bn = nn.Identity()
        self.deployed = True

    merge = reparameterize  # the branch merge is this part's whole inference form

    def fit_grid(self, saved: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        raise ConfigError(
            "repmlp mixers cannot be resized to another resolution: fc3 is one FC over the stage's whole grid, "
            "and no rule maps it to another"
        )
