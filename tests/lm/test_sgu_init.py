"""At step 0 every Spatial Gating Unit is the identity on its first half, u * (W v + b) = u, because W starts
near zero and b at one (Liu et al. 2021, Sec. 2.1), so each gMLP/aMLP block starts as a plain MLP."""

from __future__ import annotations

import pytest
import torch

from tokenmix.lm import create_lm


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("token_weights", ["toeplitz", "dense"])
@pytest.mark.parametrize("family", ["gmlp", "amlp"])
def test_every_sgu_is_the_identity_on_u_at_init(family, token_weights, causal):
    torch.manual_seed(0)
    model = create_lm(f"{family}_lm_tiny", 65, 64, causal=causal, token_weights=token_weights)
    gates = [block.mlp.gate for block in model.blocks]
    assert len(gates) == model.cfg.stage.depth
    for sgu in gates:
        weight, bias = sgu.token_weights(64)
        assert torch.equal(bias, torch.ones(64)) and weight.abs().max() < 1e-4
        x = torch.randn(3, 64, 2 * sgu.norm.normalized_shape[0]).double()
        u = x[..., : x.shape[-1] // 2]  # the reference: the ungated half, untouched
        torch.testing.assert_close(sgu.double()(x), u, rtol=1e-4, atol=0)  # u * (1 + W v), |W v| < 1e-4
