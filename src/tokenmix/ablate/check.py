"""Refuse a bad grid before anything trains: resolve every cell's training config and build its model on the
meta device (no memory, no time), with one forward pass, so a mixer that cannot take the skeleton's layout or
grid size fails here, with the cell's name, and not an hour into the run."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import ConfigError
from ..counting import count_macs, count_params, meta_model
from ..factory import model_cfg
from ..train.config import load_recipe, make_cfg
from .grid import Cell, Grid, Variant

CHECK_CLASSES = 10  # the head's width does not decide whether a cell builds; the report counts the real model


@dataclass(frozen=True)
class CheckedCell:
    cell: Cell
    train: dict[str, Any]  # the cell's resolved TrainCfg, as the recipe its `tokenmix train` run reads


def cell_train_values(grid: Grid, cell: Cell) -> dict[str, Any]:
    """Recipe, then the grid's training fields, then what the cell varies: the model, its options, the seed."""
    options = {**grid.model_options, **dict(cell.variant.axes), "mixers": cell.variant.mixers}
    values = {**load_recipe(grid.recipe), **grid.train, "model": grid.model, "model_options": options}
    return make_cfg({**values, "seed": cell.seed}).to_dict()


def check_variant(grid: Grid, variant: Variant, train: dict[str, Any]) -> None:
    """Raise ConfigError if the variant's model cannot be built and run at the grid's image size."""
    if train["img_size"] is None:
        raise ConfigError("set train.img_size (the data's image size) so every cell's model is checked first")
    options = dict(train["model_options"])
    cfg = model_cfg(
        grid.model, **options, img_size=train["img_size"], in_chans=train["in_chans"] or 3, num_classes=CHECK_CLASSES
    )
    count_params(meta_model(cfg))
    count_macs(cfg)


def check_grid(grid: Grid) -> list[CheckedCell]:
    """Every cell of the grid, resolved; the first cell that cannot train is a ConfigError naming it."""
    data_dir = grid.train.get("data_dir")
    if data_dir is not None and grid.train.get("data") == "npz" and not Path(data_dir).is_file():
        raise ConfigError(f"grid: train.data_dir {data_dir!r} is not a file (npz data); --set data_dir=PATH")
    checked, seen = [], set()
    for cell in grid.cells():
        try:
            train = cell_train_values(grid, cell)
            if cell.variant not in seen:
                check_variant(grid, cell.variant, train)
                seen.add(cell.variant)
        except Exception as e:  # noqa: BLE001 — any failure to build is the refusal; say which cell and why
            reason = str(e.args[0]) if isinstance(e, KeyError) and e.args else str(e) or type(e).__name__
            if not isinstance(e, ValueError | KeyError):  # a part's own assertion: say what was being built
                what = f"{grid.model} with mixers {cell.variant.mixers!r}"
                reason = f"{what} cannot be built: {reason} ({type(e).__name__})"
            raise ConfigError(f"cell {cell.name}: {reason.splitlines()[0]}") from None
        checked.append(CheckedCell(cell, train))
    return checked
