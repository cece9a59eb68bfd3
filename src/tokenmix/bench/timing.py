"""Timing that survives a shared, noisy machine: competitors run round-robin in one process, and a speed-up is
the median of same-round ratios (a slow round slows everyone in it, and cancels out of its ratio)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def time_call(fn: Callable[[], object], repeat: int = 1) -> float:
    """Seconds per call of fn, over `repeat` back-to-back calls."""
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - start) / repeat


def interleaved(
    fns: dict[str, Callable[[], object]], rounds: int = 5, warmup: int = 1, repeat: int = 1
) -> dict[str, list[float]]:
    """Per-call seconds of each fn in each round; within a round every fn runs once (`repeat` calls)."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            times[name].append(time_call(fn, repeat))
    return times


def median(values: list[float]) -> float:
    return statistics.median(values)


def speedup(baseline: list[float], variant: list[float]) -> tuple[float, float, float]:
    """(median, min, max) over rounds of baseline_time / variant_time, taken within each round."""
    ratios = [b / v for b, v in zip(baseline, variant, strict=True)]
    return statistics.median(ratios), min(ratios), max(ratios)
