"""`tokenmix ablate report DIR`: the tables and plots of a grid, rebuilt from whatever cells have finished.

Writes DIR/report.md, report.json, report.csv (one row per variant), cells.csv (one row per finished cell)
and the plots (plots.py). Every number comes from the cells' own files (summary.json, metrics.csv, the
config stored in model.safetensors), so the report of two shards equals the report of one process.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..checkpoint import read_metadata
from ..config import ConfigError, ModelCfg
from ..counting import count_macs
from ..train.report import write_text
from . import plots
from .grid import Cell, Grid, Variant, make_grid
from .reference import POOLFORMER_TABLE5_TOP1, SOURCE, canonical_mixers
from .stats import Interval, mean, paired_differences, sample_std, spearman, t_interval

CONFIDENCE = 0.95
TIMING_KEYS = ("images_per_s", "train_time_s", "wall_s")  # machine-dependent; everything else is reproducible


@dataclass
class VariantResult:
    label: str
    mixers: str
    axes: dict[str, Any]
    seeds_done: int
    seeds_total: int
    top1_by_seed: dict[int, float]
    top1_mean: float
    top1_std: float
    params: int | None
    macs: int | None
    images_per_s: float
    train_time_s: float
    wall_s: float
    curves: dict[int, list[float]] = field(default_factory=dict)  # seed -> test top-1 per epoch
    seeds_crashed: list[int] = field(default_factory=list)  # unfinished, with CELL/error.txt (runner.train_cell)


@dataclass
class Comparison:
    label: str
    baseline: str
    diff: Interval

    @property
    def verdict(self) -> str:
        if math.isnan(self.diff.low):
            return f"n/a ({self.diff.n} paired seed{'' if self.diff.n == 1 else 's'})"
        return "yes" if self.diff.excludes_zero else "no"

    def row(self) -> dict[str, Any]:
        return dict(label=self.label, baseline=self.baseline, verdict=self.verdict, **asdict(self.diff))


# ---- reading the cells -----------------------------------------------------------------------------------
def load_grid_of(out: Path) -> Grid:
    path = out / "grid.json"
    if not path.is_file():
        raise ConfigError(f"{out} is not an ablation folder (no grid.json)")
    return make_grid(json.loads(path.read_text()))


def read_curve(path: Path) -> list[float]:
    with path.open() as f:
        return [float(row["test_top1"]) for row in csv.DictReader(f)]


def cell_macs(folder: Path) -> int:
    """MACs of the trained model, from the config its weights carry (the data's real class count)."""
    return count_macs(ModelCfg.from_dict(read_metadata(folder / "model.safetensors")["config"]))


def cell_wall(folder: Path, summary: dict) -> float:
    """The trainer's wall clock, summed over a killed cell's resumes (summary wall_time_s); runs from before it
    existed: the process wall of the attempt that finished (wall.json)."""
    if summary.get("wall_time_s") is not None:
        return float(summary["wall_time_s"])
    wall_file = folder / "wall.json"
    return json.loads(wall_file.read_text())["wall_s"] if wall_file.is_file() else math.nan


def collect_variant(out: Path, variant: Variant, cells: list[Cell]) -> VariantResult:
    top1, curves, params, macs, speed, train_time, wall, crashed = {}, {}, None, None, [], [], [], []
    for cell in cells:
        folder = out / "cells" / cell.name
        if not (folder / "summary.json").is_file():
            if (folder / "error.txt").is_file():
                crashed.append(cell.seed)
            continue
        summary = json.loads((folder / "summary.json").read_text())
        top1[cell.seed] = float(summary["final_top1"])
        params = summary["params"]
        macs = macs if macs is not None else cell_macs(folder)
        speed.append(summary["images_per_s"])
        train_time.append(summary["train_time_s"])
        wall.append(cell_wall(folder, summary))
        if (folder / "metrics.csv").is_file():
            curves[cell.seed] = read_curve(folder / "metrics.csv")
    values = [top1[s] for s in sorted(top1)]
    return VariantResult(
        variant.label, variant.mixers, dict(variant.axes), len(top1), len(cells), top1, mean(values),
        sample_std(values), params, macs, mean(speed), mean(train_time), mean(wall), curves, crashed,
    )  # fmt: skip


def collect(out: Path) -> tuple[Grid, list[VariantResult]]:
    grid = load_grid_of(out)
    by_variant: dict[Variant, list[Cell]] = {}
    for cell in grid.cells():
        by_variant.setdefault(cell.variant, []).append(cell)
    return grid, [collect_variant(out, v, cells) for v, cells in by_variant.items()]


# ---- the analysis ----------------------------------------------------------------------------------------
def compare(grid: Grid, results: list[VariantResult]) -> list[Comparison]:
    """Each variant against the baseline mixers at the same axis values, paired by seed."""
    base = {json.dumps(r.axes, sort_keys=True): r for r in results if r.mixers == grid.baseline_mixers}
    out = []
    for r in results:
        b = base.get(json.dumps(r.axes, sort_keys=True))
        if b is None or r is b or not r.top1_by_seed:
            continue
        diffs = paired_differences(r.top1_by_seed, b.top1_by_seed)
        out.append(Comparison(r.label, b.label, t_interval(diffs, CONFIDENCE)))
    return out


def ranking(results: list[VariantResult]) -> dict[str, Any]:
    """Our order beside PoolFormer Table 5's, and Spearman's rho over the variants both have."""
    done = [r for r in results if r.seeds_done]
    ordered = sorted(done, key=lambda r: -r.top1_mean)
    rows = [
        dict(rank=i + 1, label=r.label, top1=r.top1_mean, paper=POOLFORMER_TABLE5_TOP1.get(canonical_mixers(r.mixers)))
        for i, r in enumerate(ordered)
    ]
    shared = [row for row in rows if row["paper"] is not None]
    rho = spearman([row["top1"] for row in shared], [row["paper"] for row in shared])
    return dict(rows=rows, shared=len(shared), spearman=rho, source=SOURCE)


def build_report(out: Path) -> dict[str, Any]:
    grid, results = collect(out)
    return dict(
        grid=grid.to_dict(),
        confidence=CONFIDENCE,
        variants=[{k: v for k, v in asdict(r).items() if k != "curves"} for r in results],
        comparisons=[c.row() for c in compare(grid, results)],
        ranking=ranking(results),
        _curves={r.label: r.curves for r in results},
    )


# ---- writing ---------------------------------------------------------------------------------------------
def _fmt(value: float | None, digits: int = 2, sign: str = "") -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:{sign}.{digits}f}"


def _no_delta(variant: dict[str, Any], grid: dict[str, Any]) -> str:
    """Why a variant has no comparison: it is the baseline, or none of its seeds has finished (or they crashed)."""
    if variant["mixers"] == grid["baseline"]:
        return "(baseline)"
    if variant["seeds_done"]:
        return "–"
    return "(crashed: see its cells' error.txt)" if variant["seeds_crashed"] else "(not run)"


def markdown(report: dict[str, Any]) -> str:
    grid, comps = report["grid"], {c["label"]: c for c in report["comparisons"]}
    lines = [
        "# Token-mixer ablation",
        "",
        f"Skeleton `{grid['model']}` {json.dumps(grid['model_options'])}, recipe `{grid['recipe']}` "
        f"{json.dumps(grid['train'])}; seeds {grid['seeds']}. Top-1 is the final epoch's test accuracy; "
        f"Δ is the mean over seeds of (variant − baseline `{grid['baseline']}`) on the same seed, with its "
        f"{100 * report['confidence']:.0f} % t-interval; *beyond noise* when the interval excludes 0.",
        "",
        "| variant | seeds | top-1 % (mean ± std) | Δ vs baseline [95 % CI] | beyond noise | params (k) | MACs (M) "
        "| train img/s | train time (s) | wall (s) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for v in report["variants"]:
        c = comps.get(v["label"])
        delta = f"{_fmt(c['mean'], sign='+')} [{_fmt(c['low'])}, {_fmt(c['high'])}]" if c else _no_delta(v, grid)
        params = _fmt(v["params"] / 1e3, 1) if v["params"] else "–"
        macs = _fmt(v["macs"] / 1e6, 2) if v["macs"] else "–"
        lines.append(
            f"| {v['label']} | {v['seeds_done']}/{v['seeds_total']} | {_fmt(v['top1_mean'])} ± {_fmt(v['top1_std'])} "
            f"| {delta} | {c['verdict'] if c else ''} | {params} | {macs} | {_fmt(v['images_per_s'], 0)} "
            f"| {_fmt(v['train_time_s'], 1)} | {_fmt(v['wall_s'], 1)} |"
        )
    rank = report["ranking"]
    lines += [
        "",
        f"## Ranking beside {rank['source']}",
        "",
        "| rank | variant | top-1 % here | ImageNet top-1 % (paper) |",
        "|---|---|---|---|",
    ]
    lines += [f"| {r['rank']} | {r['label']} | {_fmt(r['top1'])} | {_fmt(r['paper'], 1)} |" for r in rank["rows"]]
    lines += [
        "",
        f"Spearman's ρ over the {rank['shared']} variants both have: {_fmt(rank['spearman'])}.",
        "",
        "![accuracy vs MACs](accuracy_vs_macs.png) ![accuracy vs params](accuracy_vs_params.png)",
        "",
        "![test accuracy per epoch](curves.png)",
        "",
        "How far each variant looks, its effective receptive field (|∂ centre output / ∂ input|, seed of the first"
        " finished cell):",
        "",
        "![effective receptive fields](erf.png)",
        "",
    ]
    return "\n".join(lines)


def variants_csv(report: dict[str, Any]) -> str:
    comps = {c["label"]: c for c in report["comparisons"]}
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["variant", "mixers", "seeds_done", "top1_mean", "top1_std", "delta", "delta_low", "delta_high",
                "beyond_noise", "params", "macs", "images_per_s", "train_time_s", "wall_s"])  # fmt: skip
    for v in report["variants"]:
        c = comps.get(v["label"], {})
        w.writerow([v["label"], v["mixers"], v["seeds_done"], v["top1_mean"], v["top1_std"], c.get("mean"),
                    c.get("low"), c.get("high"), c.get("verdict"), v["params"], v["macs"], v["images_per_s"],
                    v["train_time_s"], v["wall_s"]])  # fmt: skip
    return out.getvalue()


def cells_csv(report: dict[str, Any]) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["variant", "seed", "top1"])
    for v in report["variants"]:
        for seed, top1 in sorted(v["top1_by_seed"].items(), key=lambda kv: int(kv[0])):
            w.writerow([v["label"], seed, top1])
    return out.getvalue()


def write_report(out: Path) -> dict[str, Any]:
    """Rebuild every report file of the ablation folder `out`; returns the report as written to report.json."""
    report = build_report(out)
    curves = report.pop("_curves")
    write_text(out / "report.json", json.dumps(_nan_to_none(report), indent=1, allow_nan=False) + "\n")
    report = json.loads((out / "report.json").read_text())  # seeds become strings, as a reader sees them
    write_text(out / "report.md", markdown(report))
    write_text(out / "report.csv", variants_csv(report))
    write_text(out / "cells.csv", cells_csv(report))
    plots.accuracy_vs(out / "accuracy_vs_macs.png", report["variants"], "macs", "MACs per image")
    plots.accuracy_vs(out / "accuracy_vs_params.png", report["variants"], "params", "parameters")
    plots.curves(out / "curves.png", curves)
    receptive_fields(out, report["variants"])
    return report


def receptive_fields(out: Path, variants: list[dict[str, Any]], images: int = 16) -> None:
    """erf.png: side by side, how far each variant looks (tokenmix.viz.erf) in its first finished cell."""
    from ..viz.erf import model_erf
    from ..viz.load import erf_images, load_model
    from ..viz.render import save_map_grid

    grid = load_grid_of(out)
    maps, labels = [], []
    for v in variants:
        cell = next((c for c in grid.cells() if c.variant.label == v["label"] and _finished(out, c)), None)
        if cell is None:
            continue
        folder = out / "cells" / cell.name
        model, meta = load_model(folder)
        maps.append(model_erf(model, erf_images(folder, model, meta, images)))
        labels.append(v["label"])
    if maps:
        save_map_grid(out / "erf.png", torch.stack(maps), "effective receptive field", False, labels)


def _finished(out: Path, cell: Cell) -> bool:
    return (out / "cells" / cell.name / "summary.json").is_file()


def _nan_to_none(value: Any) -> Any:
    """Strict JSON has no NaN: an undefined statistic (one seed's std) is written as null."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _nan_to_none(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_nan_to_none(v) for v in value]
    return value
