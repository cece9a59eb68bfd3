"""The timm model with the same weights as a tokenmix model: the reference of every speed ratio."""

from __future__ import annotations

import torch
from torch import nn

from ..factory import MODELS


def timm_twin(name: str, model: nn.Module, **timm_options) -> nn.Module:
    """timm.create_model(entry.timm_name) holding `model`'s weights (through the family's key map), eval mode.

    `model` must be the un-deployed form: its state dict is converted with tokenmix.convert.timm.to_timm.
    """
    import timm

    from ..convert.timm import to_timm

    entry = MODELS.get(name)
    if entry.timm_name is None or entry.keymap is None:
        raise ValueError(f"{name} has no timm counterpart")
    options = dict(pretrained=False, num_classes=model.num_classes)
    if model.img_size != 224:
        options["img_size"] = model.img_size
    options.update(timm_options)
    try:
        twin = timm.create_model(entry.timm_name, **options)
    except TypeError:  # timm models without an img_size argument (the convolutional ones)
        options.pop("img_size", None)
        twin = timm.create_model(entry.timm_name, **options)
    twin.load_state_dict(to_timm(model.state_dict(), entry.keymap))
    return twin.eval()


@torch.no_grad()
def randomize_weights_(model: nn.Module, seed: int = 0) -> nn.Module:
    """Every floating tensor of the state dict random and O(1)-scaled, so that no tiny LayerScale or zero head
    hides work or wiring (speed does not depend on values, equivalence checks do)."""
    g = torch.Generator().manual_seed(seed)
    for t in model.state_dict().values():
        if not t.is_floating_point():
            continue
        if t.ndim >= 2 and t.shape[0] > 1:
            t.copy_(torch.randn(t.shape, generator=g) / t[0].numel() ** 0.5)
        else:
            t.add_(torch.rand(t.shape, generator=g) - 0.5)
    return model
