"""State-dict converters between tokenmix and other implementations: timm, and the papers' official releases.

Every map has a name (ModelEntry.keymap / .official_keymaps); `to_tokenmix` and `from_tokenmix` take it.
"""

from __future__ import annotations

import torch

from .big_vision import BIG_VISION_KEYMAPS
from .keymap import KeyMap, Rule
from .official import OFFICIAL_KEYMAPS
from .timm import KEYMAPS as TIMM_KEYMAPS
from .timm import from_timm, to_timm

KEYMAPS: dict[str, KeyMap] = {**TIMM_KEYMAPS, **OFFICIAL_KEYMAPS, **BIG_VISION_KEYMAPS}


def to_tokenmix(state_dict: dict[str, torch.Tensor], keymap: str) -> dict[str, torch.Tensor]:
    """A foreign state dict (timm's or an official release's, named by `keymap`) in tokenmix keys."""
    return KEYMAPS[keymap].to_ours(state_dict)


def from_tokenmix(state_dict: dict[str, torch.Tensor], keymap: str) -> dict[str, torch.Tensor]:
    """A tokenmix state dict in the keys of the implementation `keymap` names."""
    return KEYMAPS[keymap].to_theirs(state_dict)


__all__ = ["KEYMAPS", "KeyMap", "Rule", "from_timm", "from_tokenmix", "to_timm", "to_tokenmix"]
