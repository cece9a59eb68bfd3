"""Weight-init primitives the schemes in tokenmix.init need and torch.nn.init lacks.

Ours rather than timm's `timm.layers.lecun_normal_` because importing `timm.layers` pulls in torchvision and
torch._dynamo at start-up. Same draws as timm's with the same seed (tests/layers/test_weight_init.py); not
torch.nn.init.trunc_normal_, which since torch 2.14 samples by rejection and so draws different numbers.
"""

from __future__ import annotations

import math

import torch
from torch import nn

# The standard deviation of a unit normal truncated to [-2, 2]: dividing by it makes the truncated draw's
# variance the one asked for, as in JAX's / TensorFlow's variance_scaling(distribution="truncated_normal").
TRUNCATED_UNIT_NORMAL_STD = 0.87962566103423978


def _unit_normal_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def truncated_unit_normal_(weight: torch.Tensor, bound: float = 2.0) -> torch.Tensor:
    """N(0, 1) truncated to [-bound, bound], in place, by the inverse CDF of a uniform draw (one draw per value)."""
    low, high = _unit_normal_cdf(-bound), _unit_normal_cdf(bound)
    with torch.no_grad():
        weight.uniform_(2 * low - 1, 2 * high - 1)  # erf's argument range for the CDF interval [low, high]
        weight.erfinv_().mul_(math.sqrt(2.0))
        return weight.clamp_(-bound, bound)


def lecun_normal_(weight: torch.Tensor) -> torch.Tensor:
    """LeCun normal init (LeCun et al. 1998): truncated normal with variance 1 / fan_in, in place."""
    fan_in, _ = nn.init._calculate_fan_in_and_fan_out(weight)
    std = math.sqrt(1.0 / fan_in) / TRUNCATED_UNIT_NORMAL_STD
    with torch.no_grad():
        return truncated_unit_normal_(weight).mul_(std)
