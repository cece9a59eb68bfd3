"""A language-model run's metrics.csv (one row per validation pass, rewritten whole from the history kept in
every checkpoint, so a resumed run neither loses nor repeats a row) and curves.png."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from ..train.checkpoints import write_file_atomically
from ..train.report import write_text

COLUMNS = ("step", "lr", "train_loss", "val_loss", "val_ppl", "tokens_per_s", "elapsed_s")


def write_metrics(path: Path, history: list[dict[str, Any]]) -> None:
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in history:
        writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
    write_text(path, out.getvalue())


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
