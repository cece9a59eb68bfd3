"""Maps -> PNG: a square grid of small images (the papers' figure style), matplotlib's Agg backend."""

from __future__ import annotations

import math
from pathlib import Path

import torch


def save_map_grid(path: Path, maps: torch.Tensor, title: str, symmetric: bool, labels: list[str] | None = None) -> None:
    """(K, h, w) maps as a ceil(sqrt K)-wide grid; each map on its own colour scale (signed: centred at 0)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    k = maps.shape[0]
    cols = math.ceil(math.sqrt(k))
    rows = math.ceil(k / cols)
    size = 2.0 if labels else 1.2
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols, size * rows + 0.4), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if i >= k:
            continue
        m = maps[i].numpy()
        if labels:
            ax.set_title(labels[i], fontsize=7)
        if symmetric:
            lim = float(abs(m).max()) or 1.0
            ax.imshow(m, cmap="RdBu_r", vmin=-lim, vmax=lim, interpolation="nearest")
        else:
            ax.imshow(m, cmap="viridis", interpolation="nearest")
    fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
