"""The report's pictures (matplotlib, Agg): accuracy against cost with seed error bars, and test-accuracy
curves per variant (the mean over seeds, the spread shaded)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def colour(plt, index: int):
    """A variant's colour, the same in every picture: tab20 tells 20 variants apart (tab10 repeats after 10)."""
    return plt.get_cmap("tab20")(index % 20)


def accuracy_vs(path: Path, variants: list[dict[str, Any]], key: str, label: str) -> None:
    """One point per variant: mean top-1 against `key` (macs or params), ± one standard deviation."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 5))
    for i, v in enumerate(variants):
        if not v["seeds_done"] or not v[key]:
            continue
        err = v["top1_std"] or 0.0  # null: one seed, no spread
        ax.errorbar(v[key], v["top1_mean"], yerr=err, fmt="o", capsize=3, color=colour(plt, i))
        ax.annotate(v["label"], (v[key], v["top1_mean"]), textcoords="offset points", xytext=(4, 4), fontsize=7)
    ax.set_xscale("log")
    ax.set_xlabel(f"{label} (log scale)")
    ax.set_ylabel("test top-1 % (mean ± std over seeds)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def curves(path: Path, curves_by_variant: dict[str, dict[int, list[float]]]) -> None:
    """Mean test top-1 per epoch, min-max over seeds shaded; the legend lists the variants best first."""
    from matplotlib.ticker import MaxNLocator

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8.5, 5))
    finals = []
    for i, (label, by_seed) in enumerate(curves_by_variant.items()):
        runs = [c for c in by_seed.values() if c]
        if not runs:
            continue
        epochs = min(len(c) for c in runs)
        per_epoch = [[c[e] for c in runs] for e in range(epochs)]
        mid = [sum(vals) / len(vals) for vals in per_epoch]
        xs = list(range(1, epochs + 1))
        (line,) = ax.plot(xs, mid, marker=".", label=label, color=colour(plt, i), ls="-" if i < 10 else "--")
        low, high = [min(v) for v in per_epoch], [max(v) for v in per_epoch]
        ax.fill_between(xs, low, high, color=line.get_color(), alpha=0.15)
        finals.append((mid[-1], line))
    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("test top-1 % (mean over seeds; band: min–max)")
    ax.grid(alpha=0.3)
    ordered = [line for _, line in sorted(finals, key=lambda f: -f[0])]
    ax.legend(ordered, [line.get_label() for line in ordered], fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
