"""Our DropPath against timm's: the same samples dropped with the same seed, the same scaling, the same no-ops."""

from __future__ import annotations

import pytest
import torch
from timm.layers import DropPath as TimmDropPath

from tokenmix.layers.drop import DropPath


@pytest.mark.parametrize("shape", [(16, 49, 64), (16, 32, 7, 7), (16, 8)])
@pytest.mark.parametrize("drop_prob", [0.1, 0.5, 1.0])
@pytest.mark.parametrize("scale_by_keep", [True, False])
def test_drop_path_matches_timm_with_the_same_seed(shape, drop_prob: float, scale_by_keep: bool) -> None:
    x = torch.randn(shape)
    ours, theirs = DropPath(drop_prob, scale_by_keep).train(), TimmDropPath(drop_prob, scale_by_keep).train()
    torch.manual_seed(7)
    got = ours(x)
    torch.manual_seed(7)
    want = theirs(x)
    assert torch.equal(got, want)
    kept = got.flatten(1).ne(0).any(1)
    assert torch.equal(kept, got.flatten(1).ne(0).all(1))  # whole samples dropped, not single elements
    assert (kept.sum() == 0) if drop_prob == 1.0 else (kept.sum() > 0)
    scale = 1 / (1 - drop_prob) if scale_by_keep and drop_prob < 1 else 1.0
    torch.testing.assert_close(got[kept], x[kept] * scale)


def test_drop_path_is_the_identity_in_eval_and_at_rate_0() -> None:
    x = torch.randn(4, 10)
    assert DropPath(0.5).eval()(x) is x and DropPath(0.0).train()(x) is x
    assert repr(DropPath(0.12345)) == repr(TimmDropPath(0.12345)).replace("TimmDropPath", "DropPath")


def test_drop_path_gradient_flows_only_through_kept_samples() -> None:
    x = torch.randn(64, 5, requires_grad=True)
    torch.manual_seed(0)
    DropPath(0.5).train()(x).sum().backward()
    kept = x.grad[:, 0] != 0
    assert torch.all(x.grad[kept] == 2.0) and torch.all(x.grad[~kept] == 0.0) and 0 < kept.sum() < 64
