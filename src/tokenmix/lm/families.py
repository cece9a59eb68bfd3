"""The three language-model families, each a function of its size symbols, and their registered sizes.

gMLP and aMLP follow Liu et al. 2021, "Pay Attention to MLPs" (arXiv 2105.08050), Sec. 4 (masked LM: Toeplitz
token weights, aMLP's tiny attention of width d_attn); the Transformer is a pre-norm GPT-2 block as nanoGPT
writes it (no biases, learned positions). Sizes are set so the three families of one size have the same
parameter count within 5 % at the Tiny Shakespeare character vocabulary and context 64, as the paper compares
families at equal size (tests/lm/test_models.py checks it at several vocabularies and contexts).
"""

from __future__ import annotations

import dataclasses
from functools import partial

from ..config import ConfigError, StageCfg, part
from .models import LM_MODELS, LMCfg

TOKEN_WEIGHTS = {"toeplitz": "toeplitz_gating", "dense": "sequence_gating"}


def gated_mixer(token_weights: str, causal: bool):
    if token_weights not in TOKEN_WEIGHTS:
        raise ConfigError(f"token_weights must be one of {', '.join(TOKEN_WEIGHTS)}, got {token_weights!r}")
    return part(TOKEN_WEIGHTS[token_weights], causal=causal)


def gmlp_lm(
    L: int, d_model: int, d_ffn: int, *, vocab_size: int, context: int, causal: bool, token_weights: str = "toeplitz"
) -> LMCfg:
    """gMLP: x + fc2(SGU(gelu(fc1(LN(x))))), the vision model's block with a 1-D (Toeplitz) SGU; no positions."""
    stage = StageCfg(
        depth=L,
        dim=d_model,
        mixer=gated_mixer(token_weights, causal),
        norm=part("layernorm", eps=1e-5),
        mlp=part("gated_mlp", ratio=d_ffn / d_model),
        block=part("gated"),
    )
    return LMCfg(stage, vocab_size, context, pos_embed=False, causal=causal)


def amlp_lm(
    L: int,
    d_model: int,
    d_ffn: int,
    d_attn: int,
    *,
    vocab_size: int,
    context: int,
    causal: bool,
    token_weights: str = "toeplitz",
) -> LMCfg:
    """aMLP: gMLP with a single-head attention of width d_attn added to the SGU's gate (paper Fig. 6)."""
    cfg = gmlp_lm(L, d_model, d_ffn, vocab_size=vocab_size, context=context, causal=causal, token_weights=token_weights)
    return dataclasses.replace(cfg, stage=dataclasses.replace(cfg.stage, block=part("attention_gated", d_attn=d_attn)))


def transformer_lm(L: int, d_model: int, heads: int, *, vocab_size: int, context: int, causal: bool) -> LMCfg:
    """Pre-norm Transformer: x + attn(LN(x)); x + mlp(LN(x)), MLP 4x with GELU, no biases (nanoGPT, bias=False)."""
    stage = StageCfg(
        depth=L,
        dim=d_model,
        mixer=part("sequence_attention", num_heads=heads, causal=causal, qkv_bias=False, proj_bias=False),
        norm=part("layernorm", eps=1e-5, bias=False),
        mlp=part("mlp", ratio=4.0, bias=False),
        block=part("metaformer"),
    )
    return LMCfg(stage, vocab_size, context, pos_embed=True, causal=causal)


# Sizes in the paper's symbols. "tiny" is nanoGPT's CPU Shakespeare model (4 layers, 4 heads, width 128) and
# the gMLP/aMLP of its size; "nano" is for tests and CI. A gMLP layer (d_ffn ~ 6 d) holds ~9 d^2 parameters, a
# Transformer layer 12 d^2, so at equal width gMLP needs more layers, as in the paper's Table 6 (48 vs 12).
TRANSFORMER_SIZES = {
    "nano": dict(L=2, d_model=32, heads=2),
    "tiny": dict(L=4, d_model=128, heads=4),
    "small": dict(L=6, d_model=192, heads=6),
}
GMLP_SIZES = {
    "nano": dict(L=3, d_model=32, d_ffn=176),
    "tiny": dict(L=5, d_model=128, d_ffn=832),
    "small": dict(L=8, d_model=192, d_ffn=1152),
}
AMLP_SIZES = {
    "nano": dict(L=3, d_model=32, d_ffn=144, d_attn=8),
    "tiny": dict(L=5, d_model=128, d_ffn=704, d_attn=32),
    "small": dict(L=8, d_model=192, d_ffn=928, d_attn=64),
}

for _size, _symbols in TRANSFORMER_SIZES.items():
    LM_MODELS.register(f"transformer_lm_{_size}", partial(transformer_lm, **_symbols))
for _size, _symbols in GMLP_SIZES.items():
    LM_MODELS.register(f"gmlp_lm_{_size}", partial(gmlp_lm, **_symbols))
for _size, _symbols in AMLP_SIZES.items():
    LM_MODELS.register(f"amlp_lm_{_size}", partial(amlp_lm, **_symbols))
