"""Causal models leak nothing: changing a later token leaves every earlier output bit-identical, for gMLP
(Toeplitz and dense token weights), aMLP and the Transformer, with weights far from their init (at init the
SGU's near-zero W would hide a leak). The masked-LM twins do see later tokens, so the check can fail."""

from __future__ import annotations

import pytest
import torch

from tokenmix.lm import create_lm

MODELS = [("gmlp_lm_nano", {}), ("gmlp_lm_nano", {"token_weights": "dense"}), ("amlp_lm_nano", {}),
          ("transformer_lm_nano", {})]  # fmt: skip


def randomised(name: str, causal: bool, options: dict) -> torch.nn.Module:
    torch.manual_seed(0)
    model = create_lm(name, 30, 20, causal=causal, **options).double()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn_like(p) * 0.3)
    return model


@pytest.mark.parametrize(("name", "options"), MODELS)
@pytest.mark.parametrize("changed", [5, 19])
def test_changing_a_later_token_changes_no_earlier_output(name, options, changed):
    model = randomised(name, True, options)
    tokens = torch.randint(30, (2, 20))
    other = tokens.clone()
    other[:, changed] = (tokens[:, changed] + 1) % 30
    before, after = model(tokens), model(other)
    assert torch.equal(before[:, :changed], after[:, :changed])
    assert not torch.allclose(before[:, changed:], after[:, changed:])


@pytest.mark.parametrize(("name", "options"), MODELS)
def test_the_masked_lm_twin_sees_later_tokens(name, options):
    model = randomised(name, False, options)
    tokens = torch.randint(30, (2, 20))
    other = tokens.clone()
    other[:, 15] = (tokens[:, 15] + 1) % 30
    assert not torch.allclose(model(tokens)[:, :15], model(other)[:, :15])
