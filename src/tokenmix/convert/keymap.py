"""Two-way key maps between state dicts, written as tables of templates.

A rule pairs a key template of the other implementation with ours, e.g.

    Rule("blocks.{i}.mlp_tokens.{rest}", "stages.0.blocks.{i}.token_mixer.{rest}")

`{i}`, `{j}`, `{s}` match an integer, `{rest}` any tail. The same table converts both ways; a rule may reshape the
tensor in each direction. Every key must match exactly one rule, or the conversion fails naming the key.

Where one tensor of theirs is two of ours (or the other way round), a map names a `join` applied to their state
dict before the rules run and a `split` applied to the result going back: the rules then see one key per tensor.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import torch

Reshape = Callable[[torch.Tensor], torch.Tensor]
_FIELDS = {"i": r"\d+", "j": r"\d+", "s": r"\d+", "rest": r".+"}


def _compile(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", template)
    regex = "".join(re.escape(p) if k % 2 == 0 else f"(?P<{p}>{_FIELDS[p]})" for k, p in enumerate(parts))
    return re.compile(regex + r"\Z")


@dataclass(frozen=True)
class Rule:
    theirs: str
    ours: str
    to_ours: Reshape | None = None
    to_theirs: Reshape | None = None
    ours_fn: Callable[[dict[str, str]], dict[str, str]] | None = None  # field arithmetic, e.g. stage index shifts
    theirs_fn: Callable[[dict[str, str]], dict[str, str]] | None = None


StateDictFn = Callable[[dict[str, torch.Tensor]], dict[str, torch.Tensor]]


class KeyMap:
    def __init__(
        self,
        name: str,
        rules: list[Rule],
        join: StateDictFn | None = None,
        split: StateDictFn | None = None,
        file_format: str = "PyTorch",  # the files it reads: "PyTorch" (.pth/.safetensors) or "JAX .npz"
        hint: str = "",  # said when a file reads in this layout but not into the model's keys: which option fits
    ) -> None:
        self.name, self.file_format, self.hint = name, file_format, hint
        self.rules = rules
        self.join, self.split = join, split
        self._theirs = [_compile(r.theirs) for r in rules]
        self._ours = [_compile(r.ours) for r in rules]

    def to_ours(self, state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return self._convert(self.join(state_dict) if self.join else state_dict, self._theirs, forward=True)

    def to_theirs(self, state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        out = self._convert(state_dict, self._ours, forward=False)
        return self.split(out) if self.split else out

    def _convert(self, state_dict: dict[str, torch.Tensor], patterns: list[re.Pattern[str]], forward: bool) -> dict:
        out: dict[str, torch.Tensor] = {}
        for key, value in state_dict.items():
            for rule, pattern in zip(self.rules, patterns, strict=True):
                match = pattern.match(key)
                if match is None:
                    continue
                fields = match.groupdict()
                fn = rule.ours_fn if forward else rule.theirs_fn
                fields = fn(fields) if fn else fields
                new_key = (rule.ours if forward else rule.theirs).format(**fields)
                reshape = rule.to_ours if forward else rule.to_theirs
                out[new_key] = reshape(value) if reshape else value
                break
            else:
                side = "their" if forward else "tokenmix"
                raise KeyError(f"{self.name} key map has no rule for {side} key {key!r}")
        return out
