"""The language-model comparison preset (issue 12): gMLP, aMLP and a Transformer of equal parameter count,
trained with train-lm on the same text for the same steps, then a report of validation loss against
parameters, steps and training time, beside the gMLP paper's claim.

    PYTHONPATH=src python bench/lm_compare.py --data ../shared/data/tinyshakespeare.txt \
        [--sizes tiny small] [--objectives causal mlm] [--seeds 0 1 2] [--steps 2000] [--runs runs/lm-compare] \
        [--shard I/N]

Each run is runs/lm-compare/<model>-<objective>-seed<k>/ (a finished one, with summary.json, is not trained
again, so the preset continues where it stopped; a killed one resumes from its checkpoint); `--shard I/N` trains
every N-th run from the I-th, so N processes (one per core) split the preset; --report-only writes the report
from the runs there. The report goes to reports/lm/: comparison_table.md, comparison.csv and comparison.png.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import subprocess
import sys
from pathlib import Path

FAMILIES = ("transformer", "gmlp", "amlp")
FAMILY_COLOURS = {"transformer": "tab:blue", "gmlp": "tab:orange", "amlp": "tab:green"}
SIZE_STYLES = {"tiny": "-", "small": "--"}
REPORT = Path(__file__).resolve().parents[1] / "reports" / "lm"
CLAIM = (
    "Liu et al. 2021 (gMLP), Table 6 (third-party transcription, see ../shared/reference/architectures.md §6): "
    "masked-LM perplexity at equal size, BERT-base 4.17 / gMLP-base 4.28 / aMLP-base 3.95; BERT-large 3.35 / "
    "gMLP-large 3.32 / aMLP-large 3.19: gMLP about matches a Transformer of its size, a tiny attention closes the gap."
)


def train(run: Path, model: str, objective: str, seed: int, args: argparse.Namespace) -> None:
    if (run / "summary.json").is_file():
        return
    cmd = [sys.executable, "-m", "tokenmix", "train-lm", "--data", args.data, "--model", model,
           "--objective", objective, "--seed", str(seed), "--steps", str(args.steps), "--threads", str(args.threads),
           "--output", str(run), "--resume", "auto", "--set", "eval_every=500", "--set", "log_every=500"]  # fmt: skip
    print(" ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def read_run(run: Path) -> dict:
    summary = json.loads((run / "summary.json").read_text())
    with open(run / "metrics.csv") as f:
        history = [{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)]
    return dict(summary, history=history, run=run.name)


def loss_at_time(history: list[dict], seconds: float) -> float | None:
    """Validation loss at `seconds` of training, linear between validation points; None past the run's end."""
    points = [(0.0, None)] + [(r["elapsed_s"], r["val_loss"]) for r in history]
    for (t0, v0), (t1, v1) in zip(points, points[1:], strict=False):
        if t0 <= seconds <= t1:
            return v1 if v0 is None else v0 + (v1 - v0) * (seconds - t0) / (t1 - t0)
    return None


def size_of(model: str) -> str:
    return model.rsplit("_", 1)[-1]


def family_of(model: str) -> str:
    return model.split("_lm_")[0]


def summarise(runs: list[dict]) -> list[dict]:
    """One row per (model, objective): means over seeds, and the loss at equal training time: when the fastest
    run of the same size and objective ended."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in runs:
        groups.setdefault((r["model"], r["objective"]), []).append(r)
    rows = []
    for (model, objective), rs in sorted(groups.items()):
        losses = [r["final_val_loss"] for r in rs]
        rows.append(
            dict(
                model=model,
                objective=objective,
                params=rs[0]["params"],
                seeds=len(rs),
                steps=rs[0]["steps"],
                val_loss=statistics.mean(losses),
                val_loss_min=min(losses),
                val_loss_max=max(losses),
                val_ppl=statistics.mean(r["final_val_ppl"] for r in rs),
                train_time_s=statistics.mean(r["train_time_s"] for r in rs),
                tokens_per_s=statistics.mean(r["tokens_per_s"] for r in rs),
            )  # fmt: skip
        )
    for row in rows:
        same = [r for r in runs if r["objective"] == row["objective"] and size_of(r["model"]) == size_of(row["model"])]
        budget = min(r["history"][-1]["elapsed_s"] for r in same)
        at = [loss_at_time(r["history"], budget) for r in groups[(row["model"], row["objective"])]]
        row["equal_time_s"], row["val_loss_at_equal_time"] = budget, statistics.mean(a for a in at if a is not None)
    return sorted(rows, key=lambda r: (r["objective"], list(SIZE_STYLES).index(size_of(r["model"])), r["model"]))


def write_report(rows: list[dict], runs: list[dict], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    keys = [k for k in rows[0] if k != "history"]
    with open(out / "comparison.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, keys)
        writer.writeheader()
        writer.writerows({k: (f"{v:.4f}" if isinstance(v, float) else v) for k, v in r.items()} for r in rows)
    plot(runs, rows, out / "comparison.png")
    header = "model | objective | params | seeds | steps | val loss (mean [min-max]) | val ppl | val loss at equal time"
    lines = [f"| {header} | train time (s) | tokens/s |", "|---" * 10 + "|"]
    for r in rows:
        lines.append(
            f"| {r['model']} | {r['objective']} | {r['params']:,} | {r['seeds']} | {r['steps']} | "
            f"{r['val_loss']:.4f} [{r['val_loss_min']:.4f}-{r['val_loss_max']:.4f}] | {r['val_ppl']:.2f} | "
            f"{r['val_loss_at_equal_time']:.4f} ({r['equal_time_s']:.0f} s) | {r['train_time_s']:.0f} | "
            f"{r['tokens_per_s']:,.0f} |"
        )
    (out / "comparison_table.md").write_text("\n".join(lines) + "\n\n" + CLAIM + "\n")


def plot(runs: list[dict], rows: list[dict], path: Path) -> None:
    """One row of panels per objective: validation loss against steps, against training time (one line per
    run: colour the family, dash the size), and the final loss against parameters (mean over seeds, min-max)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    objectives = sorted({r["objective"] for r in runs})
    fig, axes = plt.subplots(len(objectives), 3, figsize=(15, 4.2 * len(objectives)), squeeze=False)
    for (by_step, by_time, by_params), objective in zip(axes, objectives, strict=True):
        for r in (r for r in runs if r["objective"] == objective):
            style = dict(color=FAMILY_COLOURS[family_of(r["model"])], ls=SIZE_STYLES.get(size_of(r["model"]), ":"))
            h = r["history"]
            by_step.plot([p["step"] for p in h], [p["val_loss"] for p in h], marker=".", alpha=0.8, **style)
            by_time.plot([p["elapsed_s"] for p in h], [p["val_loss"] for p in h], marker=".", alpha=0.8, **style)
        for family, colour in FAMILY_COLOURS.items():
            mine = sorted((r for r in rows if r["objective"] == objective and family_of(r["model"]) == family),
                          key=lambda r: r["params"])  # fmt: skip
            if mine:
                x, y = [r["params"] / 1e6 for r in mine], [r["val_loss"] for r in mine]
                err = [
                    [r["val_loss"] - r["val_loss_min"] for r in mine],
                    [r["val_loss_max"] - r["val_loss"] for r in mine],
                ]
                by_params.errorbar(x, y, yerr=err, color=colour, marker="o", capsize=3, label=family)
        name = "causal LM" if objective == "causal" else "masked LM (loss on the masked 15 %)"
        by_step.set(xlabel="step", ylabel=f"{name}\nvalidation loss (nats / token)", title="equal steps")
        by_time.set(xlabel="training time (s)", title="equal wall time")
        by_params.set(xlabel="parameters (millions)", title="final loss against size")
        for ax in (by_step, by_time, by_params):
            ax.grid(alpha=0.3)
        by_params.legend(fontsize=8)
    handles = [plt.Line2D([], [], color=c, label=f) for f, c in FAMILY_COLOURS.items()]
    handles += [plt.Line2D([], [], color="grey", ls=ls, label=size) for size, ls in SIZE_STYLES.items()]
    axes[0][0].legend(handles=handles, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def parse_shard(text: str) -> tuple[int, int]:
    index, count = (int(v) for v in text.split("/"))
    if not 0 <= index < count:
        raise argparse.ArgumentTypeError(f"--shard I/N needs 0 <= I < N, got {text}")
    return index, count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/tinyshakespeare.txt")
    parser.add_argument("--sizes", nargs="+", default=["tiny", "small"])
    parser.add_argument("--objectives", nargs="+", default=["causal", "mlm"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--runs", type=Path, default=Path("runs/lm-compare"))
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--out", type=Path, default=REPORT)
    parser.add_argument("--shard", type=parse_shard, default=(0, 1), help="I/N: train every N-th run from the I-th")
    args = parser.parse_args()
    if not args.report_only:
        plan = [(f"{family}_lm_{size}", objective, seed) for size in args.sizes for objective in args.objectives
                for family in FAMILIES for seed in args.seeds]  # fmt: skip
        index, count = args.shard
        for model, objective, seed in plan[index::count]:
            train(args.runs / f"{model}-{objective}-seed{seed}", model, objective, seed, args)
        if count > 1:
            return  # the report waits for every shard: --report-only once they are done
    runs = [read_run(p.parent) for p in sorted(args.runs.glob("*/summary.json"))]
    if not runs:
        sys.exit(f"no finished runs in {args.runs}")
    write_report(summarise(runs), runs, args.out)
    print(f"report in {args.out}")


if __name__ == "__main__":
    main()
