"""Bench results out: a printed table, CSV and JSON (the same rows)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

COLUMNS = [
    ("model", "model"),
    ("impl", "impl"),
    ("img_size", "img"),
    ("batch", "batch"),
    ("dtype", "dtype"),
    ("runtime", "runtime"),
    ("params_m", "params(M)"),
    ("gmacs", "GMACs"),
    ("infer_img_s", "infer img/s"),
    ("latency_ms", "b1 ms"),
    ("train_img_s", "train img/s"),
    ("peak_mem_mb", "peak MB"),
    ("ratio_infer", "x infer"),
    ("ratio_latency", "x b1"),
    ("ratio_train", "x train"),
    ("top1_agree_fp32", "top1=fp32"),
    ("note", "note"),
]


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return str(value)


def table(rows: list[dict]) -> str:
    """A fixed-width text table of the columns any row has."""
    cols = [(key, title) for key, title in COLUMNS if any(key in r for r in rows)]
    cells = [[title for _, title in cols]] + [[_cell(r.get(key)) for key, _ in cols] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cols))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown(rows: list[dict], columns: list[tuple[str, str]]) -> str:
    head = "| " + " | ".join(t for _, t in columns) + " |"
    rule = "|" + "|".join("---" for _ in columns) + "|"
    body = ["| " + " | ".join(_cell(r.get(k)) for k, _ in columns) + " |" for r in rows]
    return "\n".join([head, rule, *body])


def write_csv(rows: list[dict], path: Path) -> None:
    keys = [k for k, _ in COLUMNS if any(k in r for r in rows)]
    keys += sorted({k for r in rows for k in r} - set(keys))
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=keys)
        writer.writeheader()
        writer.writerows(rows)


def write_json(payload: dict, path: Path) -> None:
    path.write_text(json.dumps(payload, indent=2) + "\n")
