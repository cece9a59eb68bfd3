"""What a run tells: the lines it prints (start, progress bar, one per epoch, skipped files, the result) and
what it leaves in its folder besides checkpoints (metrics.csv, summary.json, curves.png; TensorBoard, W&B and
MLflow: trackers.py). metrics.csv is rewritten whole from the history kept in every checkpoint, so a resumed run
never duplicates or loses a row."""

from __future__ import annotations

import csv
import io
import json
import sys
import time
from collections.abc import Sequence
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
    "wall_s",
)


def write_text(path: Path, text: str) -> None:
    write_file_atomically(path, lambda tmp: tmp.write_text(text))


def write_metrics(path: Path, history: list[dict[str, Any]], columns: tuple[str, ...] = COLUMNS) -> None:
    """history as CSV, one row per entry, the given columns (floats to 6 significant digits)."""
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, extrasaction="ignore")
    writer.writeheader()
    for row in history:
        writer.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
    write_text(path, out.getvalue())


def write_summary(path: Path, summary: dict[str, Any]) -> None:
    write_text(path, json.dumps(summary, indent=1) + "\n")


def plot_curves(path: Path, history: list[dict[str, Any]]) -> None:
    """Loss and top-1 per epoch (train and test), the learning rate at each epoch's end, and test top-1 against
    wall-clock minutes, in one PNG (matplotlib's Agg backend: no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    epochs = [r["epoch"] for r in history]
    fig, axes = plt.subplots(2, 2, figsize=(10, 7.5))
    (ax_loss, ax_acc), (ax_lr, ax_wall) = axes
    for key, label in (("train_loss", "train"), ("test_loss", "test")):
        ax_loss.plot(epochs, [r.get(key) for r in history], marker="o", label=label)
    for key, label in (("train_top1", "train"), ("test_top1", "test"), ("ema_top1", "test (EMA)")):
        if any(r.get(key) is not None for r in history):
            ax_acc.plot(epochs, [r.get(key) for r in history], marker="o", label=label)
    ax_lr.plot(epochs, [r.get("lr") for r in history], marker="o", color="tab:gray")
    if all(r.get("wall_s") is not None for r in history):
        ax_wall.plot([r["wall_s"] / 60 for r in history], [r.get("test_top1") for r in history], marker="o")
    ax_loss.set(xlabel="epoch", ylabel="loss", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="top-1 %", title="accuracy")
    ax_lr.set(xlabel="epoch", ylabel="learning rate", title="learning rate at the epoch's end")
    ax_wall.set(xlabel="wall-clock minutes (evaluations included)", ylabel="test top-1 %", title="time to accuracy")
    for ax in (ax_loss, ax_acc, ax_lr):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    for ax in axes.flat:
        ax.grid(alpha=0.3)
    for ax in (ax_loss, ax_acc):
        ax.legend()
    fig.tight_layout()
    write_file_atomically(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    plt.close(fig)


# ---- lines on the terminal ---------------------------------------------------------------------------------
def start_line(cfg, data, world: int, device: str, run_dir: Path) -> str:
    return (
        f"training {cfg.model} on {data.name} ({data.num_train} train / {data.num_test} test images, "
        f"{data.in_chans}×{data.img_size}×{data.img_size}, {data.num_classes} classes) for {cfg.epochs} epochs "
        f"on {world} × {device}; run directory {run_dir}"
    )


def epoch_line(row: dict[str, Any], epochs: int) -> str:
    ema = f"  ema {row['ema_top1']:.2f}%" if row["ema_top1"] is not None else ""
    return (
        f"epoch {row['epoch']:>3}/{epochs}  "
        f"train loss {row['train_loss']:.4f} acc {row['train_top1']:.2f}%  "
        f"test loss {row['test_loss']:.4f} top-1 {row['test_top1']:.2f}%{ema}  {row['images_per_s']:.0f} img/s"
    )


def result_line(summary: dict[str, Any], run_dir: Path) -> str:
    return (
        f"test accuracy: {summary['final_top1']:.2f}% top-1 "
        f"({summary['num_test']} {summary['data']} test images; "
        f"best {summary['best_top1']:.2f}%) in {summary['train_time_s']:.1f} s of training, "
        f"{summary['images_per_s']:.0f} images/s; results in {run_dir}"
    )


def warn_skipped(skipped: Sequence[str]) -> None:
    """Image folders: the files that could not be decoded (skipped, not fatal)."""
    if skipped:
        names = sorted(skipped)
        shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        print(f"warning: skipped {len(names)} unreadable image(s): {shown}", file=sys.stderr, flush=True)


class Progress:
    """One epoch's progress on rank 0, with running loss, accuracy and img/s: a tqdm bar on stderr when stderr
    is a terminal, else a plain line on stdout every tenth of the epoch (a log file or a pipe gets news while
    the epoch runs, not only at its end)."""

    LINES_PER_EPOCH = 10

    def __init__(self, epoch: int, epochs: int, steps: int, start: int, enabled: bool) -> None:
        from tqdm import tqdm

        self.desc, self.steps, self.step = f"epoch {epoch + 1}/{epochs}", steps, start
        on_terminal = sys.stderr.isatty()
        self.plain_every = max(1, steps // self.LINES_PER_EPOCH) if enabled and not on_terminal else 0
        self.bar = tqdm(
            total=steps,
            initial=start,
            desc=self.desc,
            file=sys.stderr,
            disable=not (enabled and on_terminal),
            leave=False,
            unit="step",
        )
        self.t0, self.images = time.perf_counter(), 0

    def update(self, images: int, epoch_sums: Sequence[float]) -> None:
        self.images += images
        self.step += 1
        if self.bar.disable and not self.plain_every:
            return
        loss, correct, count = epoch_sums
        stats = dict(
            loss=f"{loss / max(count, 1):.4f}",
            acc=f"{100 * correct / max(count, 1):.1f}%",
            img_s=f"{self.images / max(time.perf_counter() - self.t0, 1e-9):.0f}",
        )
        if not self.bar.disable:
            self.bar.set_postfix(stats, refresh=False)
            self.bar.update(1)
        elif self.step % self.plain_every == 0 and self.step < self.steps:
            shown = "  ".join(f"{k.replace('_', '/')} {v}" for k, v in stats.items())
            print(f"{self.desc}  step {self.step}/{self.steps}  {shown}", flush=True)

    def close(self) -> None:
        self.bar.close()


class EvalProgress:
    """An evaluation's progress: a tqdm bar on a terminal, else a plain line at most every `every_s` seconds,
    so that a long evaluation (thousands of large images) is not silent in a log and a short one adds nothing."""

    def __init__(self, total: int, enabled: bool, every_s: float = 15.0, desc: str = "evaluating", file=None) -> None:
        from tqdm import tqdm

        self.file = file or sys.stdout  # where the plain lines go (a command whose stdout is JSON: stderr)
        on_terminal = sys.stderr.isatty()
        self.total, self.desc, self.every_s, self.plain = total, desc, every_s, enabled and not on_terminal
        self.bar = tqdm(total=total, desc=desc, file=sys.stderr, disable=not (enabled and on_terminal),
                        leave=False, unit="img")  # fmt: skip
        self.t0 = self.last = time.perf_counter()
        self.done = 0

    def __call__(self, images: int) -> None:
        self.done += images
        self.bar.update(images)
        now = time.perf_counter()
        if self.plain and now - self.last >= self.every_s and self.done < self.total:
            rate = self.done / max(now - self.t0, 1e-9)
            print(f"{self.desc}  {self.done}/{self.total} images  {rate:.0f} img/s", file=self.file, flush=True)
            self.last = now

    def close(self) -> None:
        self.bar.close()
