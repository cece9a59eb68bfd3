"""Which language-model parameters AdamW decays: nanoGPT's current rule (every tensor of dim >= 2) and, with
decay_embeddings off, its first version's (token and position embeddings, and so the tied output layer, not)."""

from __future__ import annotations

import dataclasses

from tokenmix.lm.config import LMTrainCfg
from tokenmix.lm.models import SequenceModel, lm_cfg
from tokenmix.lm.trainer import build_optimizer


def _groups(**cfg) -> tuple[set[str], set[str]]:
    train = dataclasses.replace(LMTrainCfg(), **cfg)
    model = SequenceModel(lm_cfg("transformer_lm_tiny", 65, 64, True))
    names = {id(p): n for n, p in model.named_parameters()}
    decay, no_decay = build_optimizer(model, train).param_groups
    assert decay["weight_decay"] == train.weight_decay and no_decay["weight_decay"] == 0.0
    return {names[id(p)] for p in decay["params"]}, {names[id(p)] for p in no_decay["params"]}


def test_current_rule_decays_every_matrix_and_embedding():
    decay, no_decay = _groups()
    assert {"embed.weight", "pos_embed"} <= decay
    assert all(not n.endswith("bias") and "norm" not in n for n in decay)
    assert no_decay and all(n.endswith("bias") or "norm" in n for n in no_decay)


def test_early_rule_leaves_the_embeddings_undecayed():
    decay, no_decay = _groups(decay_embeddings=False)
    assert {"embed.weight", "pos_embed"} <= no_decay
    assert decay and all(n.endswith("weight") and "norm" not in n and "embed" not in n for n in decay)
