"""Run a grid: each cell is an ordinary `tokenmix train` run in its own folder, started through the command
line's own interface (a recipe file + --output + --resume auto), so a cell is exactly what a person would run
by hand and a killed cell continues where its last checkpoint left it.

    OUT/grid.json                 the grid (a different grid in the same folder is refused)
    OUT/cells/<cell>/recipe.json  the cell's resolved training config (what `tokenmix train --recipe` reads)
    OUT/cells/<cell>/cell.json    which variant and seed it is
    OUT/cells/<cell>/wall.json    process wall seconds of the attempt that finished the cell (the report reads
                                  summary.json's wall_time_s first: the trainer's clock over every resume)
    OUT/cells/<cell>/...          the run: config.json, metrics.csv, summary.json, model.safetensors, ...
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from pathlib import Path

from ..config import ConfigError
from ..train.report import write_text
from .check import CheckedCell, check_grid
from .grid import Grid, shard_cells


def cell_folder(out: Path, checked: CheckedCell) -> Path:
    return out / "cells" / checked.cell.name


def is_finished(folder: Path) -> bool:
    """The trainer writes summary.json last, after the final weights."""
    return (folder / "summary.json").is_file()


def claim_folder(out: Path, grid: Grid) -> None:
    """Write OUT/grid.json, or check that the grid there is this one (shards and re-runs share the folder)."""
    path = out / "grid.json"
    if path.is_file():
        stored = json.loads(path.read_text())
        if stored != json.loads(grid.to_json()):
            raise ConfigError(f"{out} holds the results of a different grid ({path}); use another --output")
        return
    out.mkdir(parents=True, exist_ok=True)
    write_text(path, grid.to_json() + "\n")


def prepare_cell(folder: Path, checked: CheckedCell) -> None:
    cell = checked.cell
    folder.mkdir(parents=True, exist_ok=True)
    info = dict(variant=cell.variant.label, mixers=cell.variant.mixers, axes=dict(cell.variant.axes), seed=cell.seed)
    write_text(folder / "cell.json", json.dumps(info, indent=1) + "\n")
    write_text(folder / "recipe.json", json.dumps(checked.train, indent=1) + "\n")


def train_cell(folder: Path) -> int:
    """`tokenmix train --recipe CELL/recipe.json --output CELL --resume auto`, in this process. A cell that
    crashes (a bug, not bad input: the grid was checked) leaves its traceback in CELL/error.txt and exit code 1,
    so the other cells of an hours-long grid still train; the next run retries it."""
    from ..cli import main

    error = folder / "error.txt"
    error.unlink(missing_ok=True)
    try:
        return main(["train", "--recipe", str(folder / "recipe.json"), "--output", str(folder), "--resume", "auto"])
    except Exception as e:  # noqa: BLE001 — recorded in full, in the cell's folder
        write_text(error, traceback.format_exc())
        print(f"cell {folder.name} crashed: {type(e).__name__}: {e} (traceback in {error})", file=sys.stderr)
        return 1


def run_grid(grid: Grid, out: Path, shard: tuple[int, int] = (0, 1)) -> int:
    """Train this shard's missing cells; 0 when all of them finished, else the first failing exit code."""
    checked = check_grid(grid)  # before anything is written or trained
    claim_folder(out, grid)
    mine = shard_cells(checked, *shard)
    todo = [c for c in mine if not is_finished(cell_folder(out, c))]
    print(f"grid: {len(checked)} cells, shard {shard[0]}/{shard[1]}: {len(mine)}, to train: {len(todo)}", flush=True)
    failed = 0
    for k, checked_cell in enumerate(todo, 1):
        folder = cell_folder(out, checked_cell)
        prepare_cell(folder, checked_cell)
        print(f"[{k}/{len(todo)}] cell {checked_cell.cell.name}", flush=True)
        start = time.perf_counter()
        code = train_cell(folder)
        if code == 130:  # interrupted: its checkpoint is written, a re-run resumes it
            return code
        if code != 0:
            print(f"cell {checked_cell.cell.name} failed with exit code {code}", file=sys.stderr, flush=True)
            failed = failed or code
        else:
            wall = time.perf_counter() - start
            write_text(folder / "wall.json", json.dumps(dict(wall_s=wall)) + "\n")
            print(f"cell {checked_cell.cell.name} done in {wall:.1f} s", flush=True)
    return failed
