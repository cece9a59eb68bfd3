"""State-dict converters between tokenmix and other implementations: timm, and the papers' official releases."""

from . import official
from .keymap import KeyMap, Rule
from .timm import KEYMAPS as TIMM_KEYMAPS
from .timm import from_timm, to_timm

KEYMAPS: dict[str, KeyMap] = {**TIMM_KEYMAPS, **official.KEYMAPS}

__all__ = ["KEYMAPS", "KeyMap", "Rule", "from_timm", "to_timm"]
