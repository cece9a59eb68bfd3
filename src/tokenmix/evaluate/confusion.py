"""The confusion matrix as a PNG (rows: true class, columns: predicted; cells: counts)."""

from __future__ import annotations

from pathlib import Path

import torch


def plot_confusion(path: Path, confusion: torch.Tensor, classes: list[str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(classes)
    size = min(4 + 0.4 * n, 30)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(confusion.numpy(), cmap="Blues")
    if n <= 30:  # beyond that, labels and counts are unreadable
        ax.set_xticks(range(n), classes, rotation=90)
        ax.set_yticks(range(n), classes)
        peak = confusion.max().item()
        for (i, j), v in zip(
            torch.cartesian_prod(torch.arange(n), torch.arange(n)).tolist(),
            confusion.flatten().tolist(),
            strict=True,
        ):
            if v:
                ax.text(
                    j,
                    i,
                    str(v),
                    ha="center",
                    va="center",
                    color="white" if v > peak / 2 else "black",
                    fontsize=8,
                )
    ax.set(xlabel="predicted", ylabel="true", title="confusion matrix")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
