"""Name -> object registries for models and model parts.

A config names its parts by string ("pool", "layernorm", ...) so that it is plain data that prints, diffs and
is stored beside every checkpoint. These registries turn the names back into classes. They refuse duplicate
names (timm only warns and overwrites) and suggest close matches for unknown ones.
"""

from __future__ import annotations

import difflib
import fnmatch
import importlib
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class UnknownNameError(KeyError):
    """An unknown registry name. Its message lists the close matches."""

    def __str__(self) -> str:  # KeyError would print the message with quotes around it
        return str(self.args[0])


class Registry(Generic[T]):
    """A dict that refuses duplicate names and answers unknown names with suggestions."""

    def __init__(self, kind: str, fill: str | None = None) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}
        self._fill = fill  # a module whose import registers the items; imported at the first lookup, not before

    def _loaded(self) -> dict[str, T]:
        if self._fill is not None:
            module, self._fill = self._fill, None  # cleared first: the import registers through register()
            try:
                importlib.import_module(module)
            except BaseException:
                self._fill = module
                raise
        return self._items

    def register(self, name: str, item: T) -> T:
        if name in self._loaded():  # the built-in parts first, so that a user's name clashes now, not later
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._items[name] = item
        return item

    def decorator(self, name: str) -> Callable[[T], T]:
        return lambda item: self.register(name, item)

    def get(self, name: str) -> T:
        try:
            return self._loaded()[name]
        except KeyError:
            raise UnknownNameError(self.unknown_message(name)) from None

    def unknown_message(self, name: str) -> str:
        items = self._loaded()
        close = difflib.get_close_matches(name, items, n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(sorted(items))}"
        if len(items) > 30 and not close:
            hint = "; run `tokenmix list` to see them"
        return f"unknown {self.kind} {name!r}{hint}"

    def names(self, pattern: str | None = None) -> list[str]:
        names = sorted(self._loaded())
        return [n for n in names if fnmatch.fnmatch(n, pattern)] if pattern else names

    def __contains__(self, name: object) -> bool:
        return name in self._loaded()

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._loaded()))

    def __len__(self) -> int:
        return len(self._loaded())


# Parts, by role. Each part is an nn.Module class; see tokenmix.layers for the contract (importing it registers them).
MIXERS: Registry[type] = Registry("token mixer", fill="tokenmix.layers")
NORMS: Registry[type] = Registry("norm", fill="tokenmix.layers")
MLPS: Registry[type] = Registry("channel mlp", fill="tokenmix.layers")
STEMS: Registry[type] = Registry("stem", fill="tokenmix.layers")
DOWNSAMPLES: Registry[type] = Registry("downsample", fill="tokenmix.layers")
BLOCKS: Registry[type] = Registry("block kind", fill="tokenmix.layers")
ACTS: Registry[type] = Registry("activation", fill="tokenmix.layers")
