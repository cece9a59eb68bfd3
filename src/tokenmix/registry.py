"""Name -> object registries for models and model parts.

A config names its parts by string ("pool", "layernorm", ...) so that it is plain data that prints, diffs and
is stored beside every checkpoint. These registries turn the names back into classes. They refuse duplicate
names (timm only warns and overwrites) and suggest close matches for unknown ones.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")


class UnknownNameError(KeyError):
    """An unknown registry name. Its message lists the close matches."""

    def __str__(self) -> str:  # KeyError would print the message with quotes around it
        return str(self.args[0])


class Registry(Generic[T]):
    """A dict that refuses duplicate names and answers unknown names with suggestions."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def register(self, name: str, item: T) -> T:
        if name in self._items:
            raise ValueError(f"{self.kind} {name!r} is already registered")
        self._items[name] = item
        return item

    def decorator(self, name: str) -> Callable[[T], T]:
        return lambda item: self.register(name, item)

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            raise UnknownNameError(self.unknown_message(name)) from None

    def unknown_message(self, name: str) -> str:
        close = difflib.get_close_matches(name, self._items, n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(close)}?" if close else f"; known: {', '.join(sorted(self._items))}"
        if len(self._items) > 30 and not close:
            hint = "; run `tokenmix list` to see them"
        return f"unknown {self.kind} {name!r}{hint}"

    def names(self, pattern: str | None = None) -> list[str]:
        names = sorted(self._items)
        return [n for n in names if fnmatch.fnmatch(n, pattern)] if pattern else names

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._items))

    def __len__(self) -> int:
        return len(self._items)


# Parts, by role. Each part is an nn.Module class; see tokenmix.layers for the contract.
MIXERS: Registry[type] = Registry("token mixer")
NORMS: Registry[type] = Registry("norm")
MLPS: Registry[type] = Registry("channel mlp")
STEMS: Registry[type] = Registry("stem")
DOWNSAMPLES: Registry[type] = Registry("downsample")
BLOCKS: Registry[type] = Registry("block kind")
ACTS: Registry[type] = Registry("activation")
