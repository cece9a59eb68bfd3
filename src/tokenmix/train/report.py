"""What a run leaves in its folder besides checkpoints: metrics.csv, TensorBoard events, summary.json and
curves.png. metrics.csv is rewritten whole from the history kept in every checkpoint, so a resumed run never
duplicates or loses a row."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from .checkpoints import write_file_atomically

COLUMNS = (
    "epoch",
    "step",
    "lr",
    "train_loss",
    "train_top1",
    "test_loss",
    "test_top1",
    "test_top5",
    "ema_top1",
    "images_per_s",
    "elapsed_s",
)


def write_text(path: Path, text: str) -> None:
    write_file_atomically(path, lambda tmp: tmp.write_text(text))


def write_metrics(path: Path, history: list[dict[str, Any]]) -> None:
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS, extrasaction="ignore")
    writer.writeheader()
    for row in history:
        writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
    write_text(path, out.getvalue())


def write_summary(path: Path, summary: dict[str, Any]) -> None:
    write_text(path, json.dumps(summary, indent=1) + "\n")


def plot_curves(path: Path, history: list[dict[str, Any]]) -> None:
    """Loss and top-1 per epoch, train and test, in one PNG (matplotlib's Agg backend: no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = [r["epoch"] for r in history]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    for key, label in (("train_loss", "train"), ("test_loss", "test")):
        ax_loss.plot(epochs, [r.get(key) for r in history], marker="o", label=label)
    for key, label in (("train_top1", "train"), ("test_top1", "test"), ("ema_top1", "test (EMA)")):
        if any(r.get(key) is not None for r in history):
            ax_acc.plot(epochs, [r.get(key) for r in history], marker="o", label=label)
    ax_loss.set(xlabel="epoch", ylabel="loss", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="top-1 %", title="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    write_file_atomically(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    plt.close(fig)


class TensorBoard:
    """Scalars to run/tb when tensorboard is importable; otherwise nothing (it is an optional extra)."""

    def __init__(self, log_dir: Path, purge_step: int | None) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            self.writer = None
            return
        # purge_step drops events a killed run wrote after its last checkpoint
        self.writer = SummaryWriter(str(log_dir), purge_step=purge_step)

    def scalars(self, values: dict[str, Any], step: int) -> None:
        if self.writer is None:
            return
        for key, value in values.items():
            if isinstance(value, (int, float)) and key not in ("epoch", "step"):
                self.writer.add_scalar(key, value, step)
        self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
