"""An ablation grid: one skeleton, one recipe, one data set, and the variants to compare, as a JSON file a
person can read and diff (see presets/). Everything but the grid's axes is held equal in every cell.

    {"model": "metaformer_small", "model_options": {"dims": [32, 64, 128, 256]},
     "recipe": "small", "train": {"data": "npz", "img_size": 32, "epochs": 5},
     "mixers": ["identity", "pool", "attn", "pool,pool,attn,attn"],
     "vary": {"patch_size": [1, 2]}, "seeds": [0, 1, 2], "baseline": "pool"}

A cell is (mixers, one value of every `vary` axis, seed); a variant is a cell without its seed.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from ..config import ConfigError, json_config

KEYS = {"model", "model_options", "recipe", "train", "mixers", "vary", "seeds", "baseline"}
REQUIRED = ("model", "mixers", "seeds")


@dataclass(frozen=True)
class Variant:
    mixers: str  # one name (every stage) or one per stage: "pool,pool,attn,attn"
    axes: tuple[tuple[str, Any], ...] = ()  # (model option, value) of each `vary` axis

    @property
    def label(self) -> str:
        return " ".join([self.mixers] + [f"{k}={_short(v)}" for k, v in self.axes])

    @property
    def slug(self) -> str:
        return "_".join([self.mixers.replace(",", "-")] + [f"{k}{_short(v)}" for k, v in self.axes])


@dataclass(frozen=True)
class Cell:
    variant: Variant
    seed: int

    @property
    def name(self) -> str:
        """The cell's folder name: unique in its grid and stable across re-runs."""
        return f"{self.variant.slug}_seed{self.seed}"


@dataclass(frozen=True)
class Grid:
    model: str
    mixers: tuple[str, ...]
    seeds: tuple[int, ...]
    model_options: dict[str, Any] = field(default_factory=dict)
    recipe: str = "digits"
    train: dict[str, Any] = field(default_factory=dict)  # TrainCfg fields over the recipe
    vary: dict[str, tuple[Any, ...]] = field(default_factory=dict)  # model option -> values
    baseline: str | None = None  # the mixers of the variant every other one is compared with (default: first)

    def variants(self) -> list[Variant]:
        keys = list(self.vary)
        combos = itertools.product(*(self.vary[k] for k in keys))
        axes = [tuple(zip(keys, combo, strict=True)) for combo in combos]
        return [Variant(m, a) for m in self.mixers for a in axes]

    def cells(self) -> list[Cell]:
        """Every cell in a fixed order: the order shards are cut from."""
        return [Cell(v, s) for v in self.variants() for s in self.seeds]

    @property
    def baseline_mixers(self) -> str:
        return self.baseline or self.mixers[0]

    def to_dict(self) -> dict[str, Any]:
        return dict(
            model=self.model,
            model_options=self.model_options,
            recipe=self.recipe,
            train=self.train,
            mixers=list(self.mixers),
            vary={k: list(v) for k, v in self.vary.items()},
            seeds=list(self.seeds),
            baseline=self.baseline_mixers,
        )

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1)


def _frozen(value: Any) -> Any:
    """JSON lists as tuples, so that a variant with list-valued axes (dims, depths) can be a dict key."""
    return tuple(_frozen(v) for v in value) if isinstance(value, list) else value


def _short(value: Any) -> str:
    return "x".join(map(str, value)) if isinstance(value, list | tuple) else str(value)


# ---- reading ---------------------------------------------------------------------------------------------
def preset_names() -> list[str]:
    folder = resources.files("tokenmix.ablate").joinpath("presets")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".json"))


def read_grid_file(name_or_path: str) -> dict[str, Any]:
    """A grid file by path, or a packaged preset by name ("digits-tiny", "cifar10"); "_" keys are comments."""
    path = Path(name_or_path)
    if path.is_file():
        text, source = path.read_text(), str(path)
    elif name_or_path in preset_names():
        text = resources.files("tokenmix.ablate").joinpath("presets", f"{name_or_path}.json").read_text()
        source = f"preset {name_or_path}"
    else:
        raise ConfigError(f"grid {name_or_path!r}: expected a JSON file or a preset ({', '.join(preset_names())})")
    return json_config(text, f"grid {source}")


def make_grid(values: dict[str, Any]) -> Grid:
    """A Grid from a dict, its shape checked (what each cell can build is checked by ablate.check)."""
    unknown = set(values) - KEYS
    if unknown:
        raise ConfigError(f"grid: unknown key(s) {sorted(unknown)}; a grid takes {', '.join(sorted(KEYS))}")
    missing = [k for k in REQUIRED if k not in values]
    if missing:
        raise ConfigError(f"grid: missing {', '.join(missing)}")
    mixers, seeds = values["mixers"], values["seeds"]
    if not isinstance(mixers, list) or not mixers or not all(isinstance(m, str) and m.strip() for m in mixers):
        raise ConfigError(f"grid: mixers must be a non-empty list of names, got {mixers!r}")
    if not isinstance(seeds, list) or not seeds:
        raise ConfigError(f"grid: the seed list is empty (got {seeds!r}); give at least one seed")
    if not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds) or len(set(seeds)) < len(
        seeds
    ):
        raise ConfigError(f"grid: seeds must be distinct integers >= 0, got {seeds!r}")
    vary = values.get("vary", {})
    for key, options in vary.items():
        if not isinstance(options, list) or not options:
            raise ConfigError(f"grid: vary.{key} must be a non-empty list of values, got {options!r}")
    for key in ("model_options", "train", "vary"):
        if not isinstance(values.get(key, {}), dict):
            raise ConfigError(f"grid: {key} must be an object, got {values[key]!r}")
    for key in ("model", "seed", "model_options"):
        if key in values.get("train", {}):
            raise ConfigError(f"grid: train.{key} is set by the grid itself (model, seeds, model_options)")
    names = [m.strip() for m in mixers]
    if len(set(names)) < len(names):
        raise ConfigError(f"grid: a mixer appears twice in {names}")
    baseline = values.get("baseline")
    if baseline is not None and baseline not in names:
        raise ConfigError(f"grid: baseline {baseline!r} is not one of the mixers {names}")
    return Grid(
        model=values["model"],
        mixers=tuple(names),
        seeds=tuple(seeds),
        model_options=dict(values.get("model_options", {})),
        recipe=values.get("recipe", "digits"),
        train=dict(values.get("train", {})),
        vary={k: tuple(_frozen(x) for x in v) for k, v in vary.items()},
        baseline=baseline,
    )


def load_grid(name_or_path: str, overrides: dict[str, Any] | None = None) -> Grid:
    """A grid file or preset, with command-line replacements of its top-level keys (mixers, seeds, ...)."""
    values = read_grid_file(name_or_path)
    for key, value in (overrides or {}).items():
        values[key] = {**values.get(key, {}), **value} if key == "train" else value
    return make_grid(values)


# ---- shards ----------------------------------------------------------------------------------------------
def parse_shard(text: str) -> tuple[int, int]:
    """ "i/N" with 0 <= i < N."""
    index, sep, count = text.partition("/")
    try:
        i, n = int(index), int(count)
    except ValueError:
        i, n = -1, 0
    if not sep or n < 1 or not 0 <= i < n:
        raise ConfigError(f"--shard expects i/N with 0 <= i < N (e.g. 0/4), got {text!r}")
    return i, n


def shard_cells(cells: list[Cell], index: int, count: int) -> list[Cell]:
    """Every count-th cell from `index`: shards are disjoint, cover the grid and take turns through variants."""
    return cells[index::count]
