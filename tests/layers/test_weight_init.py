"""Our lecun_normal_ against timm's: the same draws with the same seed, and the variance 1 / fan_in."""

from __future__ import annotations

import pytest
import torch
from timm.layers import lecun_normal_ as timm_lecun_normal_

from tokenmix.layers.weight_init import lecun_normal_


@pytest.mark.parametrize("shape", [(768, 3, 16, 16), (64, 1, 3, 3), (384, 196)])
def test_lecun_normal_matches_timm_with_the_same_seed(shape) -> None:
    ours, theirs = torch.empty(shape), torch.empty(shape)
    torch.manual_seed(3)
    lecun_normal_(ours)
    torch.manual_seed(3)
    timm_lecun_normal_(theirs)
    assert torch.equal(ours, theirs)


def test_lecun_normal_has_variance_one_over_fan_in_within_two_std() -> None:
    w = torch.empty(512, 64, 3, 3)  # fan_in 576
    lecun_normal_(w)
    fan_in = 64 * 9
    assert w.var().item() == pytest.approx(1 / fan_in, rel=0.01)
    assert w.abs().max().item() <= 2 * (1 / fan_in) ** 0.5 / 0.87962566103423978 + 1e-6
