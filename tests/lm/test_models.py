"""The three families: equal size within 5 %, tied embeddings, Toeplitz token weights, shorter sequences."""

from __future__ import annotations

import pytest
import scipy.linalg
import torch

from tokenmix.layers.mixers.sequence import SequenceGatingUnit, ToeplitzGatingUnit
from tokenmix.lm import create_lm, list_lm_models
from tokenmix.lm.families import AMLP_SIZES, GMLP_SIZES, TRANSFORMER_SIZES

FAMILIES = ("transformer", "gmlp", "amlp")
SIZES = sorted(TRANSFORMER_SIZES)


def test_every_family_has_every_size():
    assert SIZES == sorted(GMLP_SIZES) == sorted(AMLP_SIZES) and len(SIZES) >= 2
    assert list_lm_models() == sorted(f"{f}_lm_{s}" for f in FAMILIES for s in SIZES)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(("vocab", "context"), [(65, 64), (1024, 128)])
def test_families_of_one_size_match_in_parameters_within_5_percent(size, vocab, context):
    counts = {f: create_lm(f"{f}_lm_{size}", vocab, context, causal=True).num_params() for f in FAMILIES}
    assert max(counts.values()) / min(counts.values()) <= 1.05, counts


def test_transformer_tiny_is_nanogpts_cpu_model():
    """nanoGPT (bias=False, n_layer 4, n_head 4, n_embd 128, block 64, vocab 65): 12 L d^2 in the blocks, tied
    token embedding, learned positions, 2 LayerNorm weights per block and a final one."""
    d, L, V, N = 128, 4, 65, 64
    expected = L * (12 * d * d + 2 * d) + V * d + N * d + d
    assert create_lm("transformer_lm_tiny", V, N, causal=True).num_params() == expected


@pytest.mark.parametrize("family", FAMILIES)
def test_output_layer_is_the_input_embedding(family):
    model = create_lm(f"{family}_lm_nano", 50, 16, causal=True)
    h = torch.randn(2, 16, model.cfg.stage.dim)
    assert torch.equal(model.embed.weight, model.state_dict()["embed.weight"])
    assert not any(p.shape == model.embed.weight.shape for n, p in model.named_parameters() if n != "embed.weight")
    assert torch.allclose(torch.nn.functional.linear(h, model.embed.weight), h @ model.embed.weight.T, atol=1e-6)


@pytest.mark.parametrize("causal", [False, True])
def test_toeplitz_token_weights_are_one_weight_per_offset(causal):
    n = 9
    sgu = ToeplitzGatingUnit(dim=8, num_tokens=n, causal=causal)
    torch.nn.init.normal_(sgu.offsets)
    w = sgu.offsets.detach().numpy()  # offsets -(n-1) .. n-1, or 0 .. n-1 when causal
    if causal:
        expected = scipy.linalg.toeplitz(w, [w[0]] + [0] * (n - 1))
    else:
        expected = scipy.linalg.toeplitz(w[n - 1 :], w[n - 1 :: -1])  # column: offsets 0..n-1; row: 0..-(n-1)
    weight, bias = sgu.token_weights(n)
    assert torch.equal(weight.detach(), torch.from_numpy(expected).float())
    assert sgu.offsets.numel() == (n if causal else 2 * n - 1) and bias.shape == (n,)


@pytest.mark.parametrize("family", ["gmlp", "amlp", "transformer"])
def test_a_causal_model_on_a_prefix_gives_the_full_runs_outputs(family):
    model = create_lm(f"{family}_lm_nano", 40, 24, causal=True)
    tokens = torch.randint(40, (2, 24))
    full, prefix = model(tokens), model(tokens[:, :10])
    torch.testing.assert_close(prefix, full[:, :10], rtol=1e-5, atol=1e-5)


def test_a_toeplitz_masked_lm_runs_on_shorter_sequences_and_a_dense_one_refuses():
    toeplitz = create_lm("gmlp_lm_nano", 40, 24, causal=False)
    assert toeplitz(torch.randint(40, (1, 7))).shape == (1, 7, 40)
    dense = create_lm("gmlp_lm_nano", 40, 24, causal=False, token_weights="dense")
    assert isinstance(dense.blocks[0].mlp.gate, SequenceGatingUnit)
    with pytest.raises(ValueError, match="exactly 24 tokens, got 7"):
        dense(torch.randint(40, (1, 7)))
    with pytest.raises(ValueError, match="at most 24 tokens"):
        toeplitz(torch.randint(40, (1, 25)))
