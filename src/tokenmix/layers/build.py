"""Build a registered part from its config, and move tensors between the three layouts.

Layouts: "nchw" (B, C, H, W) for convolution and pooling mixers, "nhwc" (B, H, W, C) for channels-last mixers
that need the 2-D grid, "nlc" (B, N, C) for mixers over a token sequence. A part class says which layout it
runs in with a class attribute `layout`; the stage converts once, on entry.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
from torch import nn
from torch.fx._symbolic_trace import is_fx_symbolic_tracing

from ..config import ConfigError, Part
from ..registry import Registry

LAYOUTS = ("nchw", "nhwc", "nlc")


def build(registry: Registry[type], spec: Part, **context: Any) -> nn.Module:
    """Instantiate `spec` from `registry`.

    The part's own arguments come from `spec.args`; build-time facts (dim, layout, num_tokens, ...) come from
    `context`, and a part receives only the ones its constructor names. An argument the class does not take
    (or a build-time fact given in the config) is an error that names it, never silently dropped.
    """
    cls = registry.get(spec.kind)
    params = inspect.signature(cls).parameters
    accepted = [p for p in params if p not in context]  # a build-time fact is not the config's to set
    unknown = set(spec.args) - set(accepted)
    if unknown:
        accepted = sorted(accepted)
        raise ConfigError(
            f"{registry.kind} {spec.kind!r} got unknown argument(s) {sorted(unknown)}; it takes {accepted}"
        )
    given = {k: v for k, v in context.items() if k in params}
    return cls(**given, **spec.args)


def part_layout(registry: Registry[type], spec: Part) -> str:
    return registry.get(spec.kind).layout


def to_layout(x: torch.Tensor, src: str, dst: str, grid: tuple[int, int] | None = None) -> torch.Tensor:
    """Convert `x` from layout `src` to `dst`. Going back to a spatial layout from "nlc" needs the grid."""
    if src == dst:
        return x
    if src == "nchw":
        return x.permute(0, 2, 3, 1) if dst == "nhwc" else x.flatten(2).transpose(1, 2)
    if src == "nhwc":
        return x.permute(0, 3, 1, 2) if dst == "nchw" else x.flatten(1, 2)
    traced = is_fx_symbolic_tracing()  # a traced shape has no value to check
    if grid is None or (not traced and x.shape[1] != grid[0] * grid[1]):
        raise ValueError(f"cannot lay {tuple(x.shape)} tokens out on a grid {grid}")
    x = x.unflatten(1, grid)  # (B, H, W, C)
    return x if dst == "nhwc" else x.permute(0, 3, 1, 2)
