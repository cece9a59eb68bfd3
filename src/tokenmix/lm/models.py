"""Sequence models: token embedding -> blocks of one stage -> norm -> logits through the tied embedding.

    tokens (B, N) -> embed (+ learned positions for attention-only models) -> blocks -> norm -> h @ E^T

The blocks are the skeleton's own block kinds, built from a StageCfg exactly as a vision stage builds them
(tokenmix.metaformer.Stage), over a 1-D token sequence of at most `context` positions in layout "nlc". A family
is a function of its size symbols that returns an LMCfg (tokenmix.lm.families); the objective only changes
the mixers' `causal` argument, so masked and causal LMs share one trunk.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..config import ConfigError, StageCfg
from ..layers.build import build
from ..registry import BLOCKS, NORMS, Registry


@dataclass(frozen=True)
class LMCfg:
    stage: StageCfg  # every block; its mixer's `causal` argument is the objective
    vocab_size: int
    context: int  # the longest sequence the model takes (its token weights and positions are this long)
    pos_embed: bool = False  # learned absolute positions: attention needs them, the SGU has its own
    causal: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class SequenceModel(nn.Module):
    """A language model over token ids; forward returns logits (B, N, vocab)."""

    def __init__(self, cfg: LMCfg) -> None:
        super().__init__()
        for name in ("vocab_size", "context"):
            if getattr(cfg, name) < 1:
                raise ConfigError(f"{name} must be >= 1, got {getattr(cfg, name)}")
        self.cfg, stage = cfg, cfg.stage
        self.embed = nn.Embedding(cfg.vocab_size, stage.dim)
        self.pos_embed = nn.Parameter(torch.zeros(cfg.context, stage.dim)) if cfg.pos_embed else None
        ctx = dict(dim=stage.dim, layout="nlc", num_tokens=cfg.context, grid=None)
        blocks = [build(BLOCKS, stage.block, stage=stage, ctx=ctx, drop_path=0.0) for _ in range(stage.depth)]
        self.blocks = nn.Sequential(*blocks)
        self.norm = build(NORMS, stage.norm, dim=stage.dim, layout="nlc")
        init_gpt2(self)

    @property
    def context(self) -> int:
        return self.cfg.context

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        n = tokens.shape[1]
        if n > self.cfg.context:
            raise ValueError(f"expected at most {self.cfg.context} tokens (the model's context), got {n}")
        x = self.embed(tokens)  # (B, N, C)
        if self.pos_embed is not None:
            x = x + self.pos_embed[:n]
        x = self.norm(self.blocks(x))
        return F.linear(x, self.embed.weight)  # (B, N, vocab): output layer tied to the input embedding

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())


def init_gpt2(model: SequenceModel) -> None:
    """GPT-2's init (Radford et al. 2019, as in nanoGPT): N(0, 0.02) for linears and embeddings, zero biases,
    and N(0, 0.02 / sqrt(2 L)) for the last layer of each residual branch, so the residual stream's variance
    does not grow with depth. Parts with their own rule (the SGU: W near zero, b = 1) apply it afterwards."""
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
        if isinstance(m, nn.Linear) and m.bias is not None:
            nn.init.zeros_(m.bias)
    if model.pos_embed is not None:
        nn.init.normal_(model.pos_embed, std=0.02)
    residual_std = 0.02 / math.sqrt(2 * model.cfg.stage.depth)
    for block in model.blocks:
        for name in ("token_mixer.proj", "mlp.fc2"):  # attention output, MLP output
            try:
                nn.init.normal_(block.get_submodule(name).weight, std=residual_std)
            except AttributeError:  # a block without attention
                continue
    for m in model.modules():
        if hasattr(m, "init_weights"):
            m.init_weights()


# name -> variant function(vocab_size, context, causal, **family options) -> LMCfg
LM_MODELS: Registry[Callable[..., LMCfg]] = Registry("language model", fill="tokenmix.lm.families")


def lm_cfg(name: str, vocab_size: int, context: int, causal: bool, **options: Any) -> LMCfg:
    variant = LM_MODELS.get(name)
    fixed = {"vocab_size", "context", "causal", *getattr(variant, "keywords", {})}  # a size's symbols are set
    takes = [p for p in inspect.signature(variant).parameters if p not in fixed]
    unknown = sorted(set(options) - set(takes))
    if unknown:
        raise ConfigError(f"{name} has no option(s) {unknown}; it takes {', '.join(takes) or 'none'}")
    return variant(vocab_size=vocab_size, context=context, causal=causal, **options)


def create_lm(name: str, vocab_size: int, context: int, causal: bool, **options: Any) -> SequenceModel:
    """Build a registered language model (tokenmix.lm.list_lm_models())."""
    return SequenceModel(lm_cfg(name, vocab_size, context, causal, **options))


def list_lm_models(pattern: str | None = None) -> list[str]:
    return LM_MODELS.names(pattern)
