"""Optional dependencies: a missing one is one line naming the extra that brings it, not an import traceback."""

from __future__ import annotations

import importlib
from types import ModuleType

EXTRA_OF = {"onnx": "onnx", "onnxruntime": "onnx", "onnxscript": "onnx"}  # module -> pyproject extra


class MissingExtra(ValueError):
    """An optional package is not installed; a ValueError so that the CLI prints it as one line (exit 2)."""


def require(module: str, purpose: str) -> ModuleType:
    """`import module`, or a MissingExtra saying what needs it and how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        extra = EXTRA_OF.get(module)
        hint = f"pip install 'tokenmix[{extra}]'" if extra else f"pip install {module}"
        raise MissingExtra(f"{purpose} needs {module}, which is not installed: {hint}") from None
