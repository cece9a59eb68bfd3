"""Dependencies point one way: the modules of tokenmix import each other without a cycle.

Every import statement counts, including those inside functions and under TYPE_CHECKING: a cycle hidden in a
lazy import is still a cycle, it only fails later. A package's own __init__ is not counted as imported by its
submodules (Python runs it first, whatever the submodule imports).
"""

from __future__ import annotations

import ast
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import tokenmix

PACKAGE = Path(tokenmix.__file__).parent


def module_names() -> dict[str, Path]:
    names = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return names


def imported(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The tokenmix modules that `module` imports: for `from pkg import name`, pkg.name if that is a module."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.update(f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names)
    return {name for name in found if name in modules and name != module}


def import_graph() -> dict[str, set[str]]:
    modules = module_names()
    return {name: imported(name, path, modules) for name, path in modules.items()}


def test_graph_sees_the_imports() -> None:
    """The walker itself: it finds relative, absolute, lazy and package imports."""
    graph = import_graph()
    assert "tokenmix.layers.build" in graph["tokenmix.metaformer"]  # from .layers.build import ...
    assert "tokenmix.config" in graph["tokenmix.factory"]  # from .config import ...
    assert "tokenmix.factory" in graph["tokenmix.models.mixer"]  # from ..factory import register_model


def test_no_import_cycle() -> None:
    try:
        TopologicalSorter(import_graph()).prepare()
    except CycleError as e:
        raise AssertionError(f"import cycle: {' -> '.join(e.args[1])}") from None


def test_checkpoint_is_a_leaf() -> None:
    """Weight files are read and written without knowing models: at most the config (its errors) and the key
    maps of foreign formats, which import nothing of tokenmix themselves."""
    graph = import_graph()
    assert graph["tokenmix.checkpoint"] <= {"tokenmix.config", "tokenmix.convert", "tokenmix.convert.jax"}
    maps = ("tokenmix.convert.timm", "tokenmix.convert.official", "tokenmix.convert.jax")
    assert all(graph[name] <= {"tokenmix.convert.keymap", "tokenmix.convert.jax"} for name in maps)
