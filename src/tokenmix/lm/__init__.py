"""Language models built from tokenmix parts: gMLP, aMLP and a Transformer, masked or causal (issue 12)."""

from .models import LMCfg, SequenceModel, create_lm, list_lm_models

__all__ = ["LMCfg", "SequenceModel", "create_lm", "list_lm_models"]
