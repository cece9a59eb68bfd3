"""The statistics of the report: mean and sample standard deviation over seeds, a paired t-interval of the
difference to the baseline (cells of the same seed share their data order and augmentation, so pairing by
seed removes that shared noise), and Spearman's rank correlation with a paper's ranking."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from scipy import stats as scipy_stats


def mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def sample_std(values: Sequence[float]) -> float:
    """Standard deviation with n - 1 in the denominator; NaN for fewer than two values."""
    if len(values) < 2:
        return math.nan
    m = mean(values)
    return math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1))


@dataclass(frozen=True)
class Interval:
    mean: float
    low: float
    high: float
    n: int

    @property
    def excludes_zero(self) -> bool:
        """True when the difference is larger than the seed noise at this confidence (NaN-safe)."""
        return self.low > 0 or self.high < 0


def t_interval(values: Sequence[float], confidence: float = 0.95) -> Interval:
    """Student-t interval of the mean: mean ± t_{(1+c)/2, n-1} · s / √n (NaN bounds for n < 2)."""
    n, m = len(values), mean(values)
    if n < 2:
        return Interval(m, math.nan, math.nan, n)
    half = scipy_stats.t.ppf((1 + confidence) / 2, n - 1) * sample_std(values) / math.sqrt(n)
    return Interval(m, m - half, m + half, n)


def paired_differences(values: dict[int, float], baseline: dict[int, float]) -> list[float]:
    """values[seed] - baseline[seed] over the seeds both have, in seed order."""
    return [values[s] - baseline[s] for s in sorted(set(values) & set(baseline))]


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Spearman's rho (ties get their average rank); NaN for fewer than three pairs or a constant side."""
    if len(a) != len(b):
        raise ValueError(f"spearman: {len(a)} values against {len(b)}")
    if len(a) < 3 or len(set(a)) < 2 or len(set(b)) < 2:
        return math.nan
    return float(scipy_stats.spearmanr(a, b).statistic)
