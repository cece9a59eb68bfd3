"""Structural re-parameterisation: fold training-time branches into single layers for inference.

Each re-parameterisable part (RepMLP; RepMLP-ResNet's conv + BN parts) has a `reparameterize()` method, the
name timm's `reparameterize_model` looks for; this walker calls them and nothing else, so the result has the
layout of the variant's `deploy=True` config. tokenmix.deploy does this and every other inference fold. Equal
to the unmerged model *in eval mode* (BN folding uses running statistics), so the model is switched to eval first.
"""

from __future__ import annotations

from torch import nn


def reparameterize(model: nn.Module) -> nn.Module:
    """Merge every re-parameterisable part, in place; returns the model, in eval mode."""
    model.eval()
    for module in list(model.modules()):
        if module is not model and callable(getattr(module, "reparameterize", None)):
            module.reparameterize()
    return model
