"""The README's options table: where a model's official preset (`preset="official"`) differs from its default.

Generated from the registry (ModelEntry.official beside each option's default: the variant function's default
for a family option, the default config's field for a common one); `tokenmix list --presets` prints it and
tests/models/test_preset_table.py keeps the README equal to it. The sources of each value are in the family files.
"""

from __future__ import annotations

import inspect
from typing import Any


def option_default(entry: Any, option: str) -> Any:
    """What `option` is when not given: the variant function's default, or the default config's field."""
    params = inspect.signature(entry.make_cfg).parameters
    if option in params:
        return params[option].default
    return getattr(entry.make_cfg(), option)


def preset_rows() -> list[dict[str, Any]]:
    """One row per (family, option, default): the models with an official preset and each one's official value."""
    from .factory import MODELS

    groups: dict[tuple[str, str, Any], list[tuple[str, Any]]] = {}
    for name in MODELS:
        entry = MODELS.get(name)
        for option, value in (entry.official or {}).items():
            if value == option_default(entry, option):
                continue  # the default already is the official value (ResMLP-S24's LayerScale)
            groups.setdefault((entry.family, option, option_default(entry, option)), []).append((name, value))
    return [
        dict(family=family, option=option, default=default, official=models)
        for (family, option, default), models in groups.items()
    ]


def _literal(value: Any) -> str:
    return f'`"{value}"`' if isinstance(value, str) else f"`{value!r}`"


def options_markdown() -> str:
    """The table: one value for all the models of a row, else each model's (then the row names the family)."""
    lines = ['| models | option | default | `preset="official"` |', "|---|---|---|---|"]
    for row in preset_rows():
        models = row["official"]
        if len({repr(v) for _, v in models}) == 1:
            names, official = ", ".join(n for n, _ in models), _literal(models[0][1])
        else:
            names, official = f"{row['family']} (each)", ", ".join(f"{n} {_literal(v)}" for n, v in models)
        lines.append(f"| {names} | `{row['option']}` | {_literal(row['default'])} | {official} |")
    return "\n".join(lines)
