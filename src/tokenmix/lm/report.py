"""A language-model run's metrics.csv (one row per validation pass, rewritten whole from the history kept in
every checkpoint, so a resumed run neither loses nor repeats a row) and curves.png."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..train import report as train_report
from ..train.checkpoints import write_file_atomically

COLUMNS = ("step", "lr", "train_loss", "val_loss", "val_ppl", "tokens_per_s", "elapsed_s")


def write_metrics(path: Path, history: list[dict[str, Any]]) -> None:
    train_report.write_metrics(path, history, COLUMNS)


def plot_curves(path: Path, history: list[dict[str, Any]], title: str) -> None:
    """Training and validation loss against steps (matplotlib's Agg backend: no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [r["step"] for r in history]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(steps, [r["train_loss"] for r in history], marker="o", label="train (mean since last point)")
    ax.plot(steps, [r["val_loss"] for r in history], marker="o", label="validation (held-out tail)")
    ax.set(xlabel="step", ylabel="loss (nats / token)", title=title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    write_file_atomically(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    plt.close(fig)
