"""Structural re-parameterisation: fold training-time branches into single layers for inference.

Each mergeable part has a `merge()` method (RepMLP's conv branches into its FC); `reparameterize` walks the
model and calls it. The result is equal to the unmerged model *in eval mode* (BN folding uses running
statistics), so the model is switched to eval first.
"""

from __future__ import annotations

from torch import nn


def reparameterize(model: nn.Module) -> nn.Module:
    """Merge every part that has `merge()`, in place; returns the model, in eval mode."""
    model.eval()
    for module in list(model.modules()):
        if module is not model and callable(getattr(module, "merge", None)):
            module.merge()
    return model
