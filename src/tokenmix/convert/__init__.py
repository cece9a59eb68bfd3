"""State-dict converters between tokenmix and other implementations (timm; official releases later)."""

from .keymap import KeyMap, Rule  # noqa: F401
from .timm import KEYMAPS, from_timm, to_timm  # noqa: F401
