"""Time to accuracy of a training recipe: run it once per seed, one run after the other (each run has the whole
machine), then tabulate and plot test top-1 against wall-clock minutes.

    PYTHONPATH=src python bench/time_to_accuracy.py --recipe cifar10-fast --seeds 0 1 2 \
        --data npz --data-dir ../shared/data/cifar10.npz --runs runs/tta --report reports/cifar10-fast \
        [--target 85 --minutes 30] [--set key=value ...]

Each run is `tokenmix train --recipe R --set seed=S` in its own folder RUNS/R-seedS, timed from outside (the
process's wall time: interpreter start-up, data loading, every evaluation and the final write included). A
folder with a summary.json is a finished run and is not run again; an unfinished one is resumed (--resume
auto), so a killed benchmark continues where it stopped. The curve's x axis is the trainer's own wall clock at
each epoch's end (metrics.csv wall_s) shifted by the start-up the process spent before the trainer began.

Writes REPORT/RECIPE.csv (one row per seed and epoch), REPORT/RECIPE.md (the table) and REPORT/RECIPE.png.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import statistics
import subprocess
import sys
import time
from pathlib import Path


def run_seed(args: argparse.Namespace, seed: int) -> Path:
    run = args.runs / f"{args.recipe}-seed{seed}"
    if (run / "summary.json").is_file():
        print(f"seed {seed}: finished earlier in {run}", flush=True)
        return run
    cmd = [sys.executable, "-m", "tokenmix", "train", "--recipe", args.recipe, "--output", str(run)]
    cmd += ["--resume", "auto", "--set", f"seed={seed}"] + [a for kv in args.set for a in ("--set", kv)]
    cmd += ["--data", args.data] + (["--data-dir", args.data_dir] if args.data_dir else [])
    print("$ " + " ".join(cmd), flush=True)
    start = time.perf_counter()
    code = subprocess.call(cmd)  # its progress lines go to this terminal / log
    wall = time.perf_counter() - start
    if code != 0:
        sys.exit(f"seed {seed}: tokenmix train exited with {code}; rerun this command to resume it")
    previous = _process_wall(run)
    (run / "process_wall.json").write_text(json.dumps(dict(segments=[*previous, wall])) + "\n")
    return run


def _process_wall(run: Path) -> list[float]:
    path = run / "process_wall.json"
    return json.loads(path.read_text())["segments"] if path.is_file() else []


def rows_of(run: Path, seed: int) -> list[dict]:
    summary = json.loads((run / "summary.json").read_text())
    segments = _process_wall(run)
    # the process's time outside the trainer's clock (imports, argument parsing), spread as a shift of the curve
    outside = max(0.0, sum(segments) - summary["wall_time_s"]) if segments else 0.0
    with open(run / "metrics.csv") as f:
        epochs = list(csv.DictReader(f))
    out = []
    for r in epochs:
        ema = r.get("ema_top1") or ""
        top1 = max(float(r["test_top1"]), float(ema)) if ema else float(r["test_top1"])
        out.append(
            dict(
                seed=seed,
                epoch=int(r["epoch"]),
                # runs from before the wall_s column have only their training time (an under-estimate)
                minutes=(float(r.get("wall_s") or r["elapsed_s"]) + outside) / 60,
                test_top1=float(r["test_top1"]),
                ema_top1=float(ema) if ema else None,
                reported_top1=top1,
                images_per_s=float(r["images_per_s"]),
            )
        )
    out[-1]["process_minutes"] = sum(segments) / 60 if segments else None
    return out


def mean_spread(values: list[float]) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f} [{min(values):.2f}-{max(values):.2f}]"


def minutes_to(rows: list[dict], target: float) -> float:
    return next((r["minutes"] for r in rows if r["reported_top1"] >= target), math.inf)


def _minutes(value: float) -> str:
    return f"{value:.1f}" if math.isfinite(value) else "not reached"


def markdown(args: argparse.Namespace, per_seed: dict[int, list[dict]]) -> str:
    finals = [rows[-1] for rows in per_seed.values()]
    reach = [minutes_to(rows, args.target) for rows in per_seed.values()]
    lines = [
        f"# {args.recipe}: time to accuracy",
        "",
        f"    {' '.join(sys.argv)}",
        "",
        "| seed | epochs | final test top-1 % | EMA top-1 % | process wall (min) | train img/s | "
        f"minutes to {args.target:g} % |",
        "|---|---|---|---|---|---|---|",
    ]
    for seed, rows in per_seed.items():
        last = rows[-1]
        ema = f"{last['ema_top1']:.2f}" if last["ema_top1"] is not None else "-"
        wall = f"{last['process_minutes']:.1f}" if last.get("process_minutes") else "-"
        lines.append(
            f"| {seed} | {last['epoch']} | {last['test_top1']:.2f} | {ema} | {wall} | {last['images_per_s']:.0f} | "
            f"{_minutes(minutes_to(rows, args.target))} |"
        )
    reached = sum(m <= args.minutes for m in reach)
    lines += [
        "",
        f"Reported top-1 (the EMA weights' where the recipe keeps an EMA, else the plain weights'), mean ± sample "
        f"std [min-max] over {len(finals)} seed(s): **{mean_spread([r['reported_top1'] for r in finals])} %**; "
        f"process wall time {mean_spread([r['process_minutes'] for r in finals if r.get('process_minutes')])} min. "
        f"Target {args.target:g} % within {args.minutes:g} min: reached by {reached} of {len(finals)} seed(s).",
    ]
    return "\n".join(lines) + "\n"


def plot(path: Path, args: argparse.Namespace, per_seed: dict[int, list[dict]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for seed, rows in per_seed.items():
        ax.plot([r["minutes"] for r in rows], [r["reported_top1"] for r in rows], marker="o", label=f"seed {seed}")
    ax.axhline(args.target, color="grey", linestyle="--", linewidth=1)
    ax.axvline(args.minutes, color="grey", linestyle=":", linewidth=1)
    ax.annotate(f"target: {args.target:g} % in {args.minutes:g} min", (args.minutes, args.target),
                textcoords="offset points", xytext=(-150, -14), color="grey")  # fmt: skip
    ax.set(xlabel="wall-clock minutes (start-up and evaluations included)", ylabel="CIFAR-10 test top-1 %",
           title=f"{args.recipe}: test accuracy per epoch against time")  # fmt: skip
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--recipe", default="cifar10-fast")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--data", default="npz")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="passed on to tokenmix train")
    p.add_argument("--runs", type=Path, default=Path("runs/tta"))
    p.add_argument("--report", type=Path, default=Path("reports/cifar10-fast"))
    p.add_argument("--target", type=float, default=85.0)
    p.add_argument("--minutes", type=float, default=30.0)
    p.add_argument("--report-only", action="store_true", help="tabulate the finished runs, start none")
    args = p.parse_args()
    per_seed = {}
    for seed in args.seeds:
        run = args.runs / f"{args.recipe}-seed{seed}"
        if not args.report_only:
            run = run_seed(args, seed)
        if (run / "summary.json").is_file():
            per_seed[seed] = rows_of(run, seed)
    if not per_seed:
        sys.exit("no finished run to report")
    args.report.mkdir(parents=True, exist_ok=True)
    stem = args.report / args.recipe
    with open(stem.with_suffix(".csv"), "w", newline="") as f:
        columns = ["seed", "epoch", "minutes", "test_top1", "ema_top1", "reported_top1", "images_per_s"]
        writer = csv.DictWriter(f, columns, extrasaction="ignore")
        writer.writeheader()
        for rows in per_seed.values():
            writer.writerows(rows)
    text = markdown(args, per_seed)
    stem.with_suffix(".md").write_text(text)
    plot(stem.with_suffix(".png"), args, per_seed)
    print(text)


if __name__ == "__main__":
    main()
