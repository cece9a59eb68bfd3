"""Model configs as frozen data.

Every tokenmix model is a `ModelCfg`: a stem, a list of stages and a head, with each part named by a registry
string plus its arguments. A config prints, diffs, round-trips through JSON and is saved beside checkpoints;
`tokenmix.metaformer.MetaFormer(cfg)` builds it.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .registry import BLOCKS


class ConfigError(ValueError):
    """A config value that cannot work, with what was expected and what came."""


def json_config(text: str, source: str) -> dict[str, Any]:
    """A JSON object of config values (a recipe, a grid), its "_"-prefixed keys (comments, "_doc") dropped."""
    try:
        values = json.loads(text)
    except json.JSONDecodeError as e:
        raise ConfigError(f"{source} is not valid JSON: {e}") from None
    if not isinstance(values, dict):
        raise ConfigError(f"{source}: expected a JSON object, got {type(values).__name__}")
    return {k: v for k, v in values.items() if not k.startswith("_")}


class Args(dict):
    """A part's arguments: a read-only dict (so JSON and dataclasses.asdict see a plain mapping) that hashes.

    Lists become tuples on the way in, so a Part can be a dict key or a set member and a config cannot change
    behind the model built from it.
    """

    def __init__(self, items: Mapping[str, Any] | Iterable[tuple[str, Any]] = ()) -> None:
        super().__init__((k, _frozen(v)) for k, v in dict(items).items())

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(sorted(self.items())))

    def __reduce__(self) -> tuple:
        return Args, (dict(self),)

    def _read_only(self, *args: Any, **kwargs: Any) -> None:
        raise TypeError("Part arguments are read-only; use Part.with_args(...) for a changed copy")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = __ior__ = _read_only  # type: ignore


def _frozen(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    return value


@dataclass(frozen=True)
class Part:
    """A registered part by name plus its constructor arguments, e.g. Part("pool", {"pool_size": 3}).

    Immutable and hashable: `args` is a read-only mapping (Args); with_args gives a changed copy.
    """

    kind: str
    args: Mapping[str, Any] = field(default_factory=Args)

    def __post_init__(self) -> None:
        object.__setattr__(self, "args", Args(self.args))

    def with_args(self, **changes: Any) -> Part:
        return Part(self.kind, {**self.args, **changes})

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.args.items())
        return f"{self.kind}({args})"


def part(kind: str, **args: Any) -> Part:
    return Part(kind, args)


@dataclass(frozen=True)
class StageCfg:
    depth: int
    dim: int
    mixer: Part  # token mixer; its class declares the tensor layout the stage runs in
    norm: Part | None = None  # norm1 and norm2 of every block (required by the block kinds that use a norm)
    mlp: Part = Part("mlp", {"ratio": 4.0})  # channel MLP
    block: Part = Part("metaformer")  # how mixer, mlp, norms and residuals are wired
    downsample: Part | None = None  # applied to the stage input (NCHW) before the blocks
    layer_scale: float | None = None  # LayerScale init (CaiT); None: no LayerScale
    res_scale: float | None = None  # ResScale init on the shortcut (MetaFormer v2); None: none


# The StageCfg parts a block kind may build; each kind declares the ones it does (Block.uses).
BLOCK_PARTS = ("mixer", "norm", "mlp", "layer_scale", "res_scale")


@dataclass(frozen=True)
class HeadCfg:
    pool: str = "avg"  # "avg" (or "max") over positions, "token" takes the first (class) token
    feature_norm: Part | None = None  # applied to the last stage's output before pooling (key `norm`)
    norm: Part | None = None  # applied to the pooled vector (key `head.norm`)
    mlp_ratio: float | None = None  # None: a Linear classifier; r: an MLP head of width r*C (ConvFormer)
    mlp_norm_eps: float = 1e-6  # the MLP head's LayerNorm (timm 1e-6; the official ConvFormer nn.LayerNorm's 1e-5)
    mlp_drop: float = 0.0  # dropout inside the MLP head, before its last Linear (official `--head-dropout`)


@dataclass(frozen=True)
class ModelCfg:
    stem: Part
    stages: tuple[StageCfg, ...]
    head: HeadCfg = HeadCfg()
    img_size: int = 224
    in_chans: int = 3
    num_classes: int = 1000
    drop_rate: float = 0.0  # dropout before the classifier
    drop_path_rate: float = 0.0  # stochastic depth: the peak rate
    drop_path_schedule: str = "linear"  # "linear": 0 -> rate over all blocks; "constant": rate in every block
    init: str = "trunc_normal"  # weight init scheme, see tokenmix.init

    def replace(self, **changes: Any) -> ModelCfg:
        return dataclasses.replace(self, **changes)

    def replace_stages(self, **changes: Any) -> ModelCfg:
        """The same change applied to every stage, e.g. replace_stages(mixer=part("identity"))."""
        return self.replace(stages=tuple(dataclasses.replace(s, **changes) for s in self.stages))

    @property
    def depth(self) -> int:
        return sum(s.depth for s in self.stages)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1)

    @staticmethod
    def from_dict(d: dict[str, Any]) -> ModelCfg:
        d = dict(d)
        _check_fields(ModelCfg, d)
        d["stem"] = _part(d["stem"])
        d["stages"] = tuple(_stage(s) for s in d["stages"])
        head = dict(d.get("head", {}))
        _check_fields(HeadCfg, head)
        head["feature_norm"] = _part(head.get("feature_norm"))
        head["norm"] = _part(head.get("norm"))
        d["head"] = HeadCfg(**head)
        return ModelCfg(**d)

    @staticmethod
    def from_json(text: str) -> ModelCfg:
        return ModelCfg.from_dict(json.loads(text))


def _check_fields(cls: type, d: dict[str, Any]) -> None:
    unknown = set(d) - {f.name for f in dataclasses.fields(cls)}
    if unknown:
        raise ConfigError(f"unknown {cls.__name__} field(s) {sorted(unknown)}")


def _part(d: dict[str, Any] | None) -> Part | None:
    if d is None:
        return None
    _check_fields(Part, d)
    return Part(d["kind"], {k: _from_json_value(v) for k, v in d.get("args", {}).items()})


def _from_json_value(value: Any) -> Any:
    """JSON has no tuples and no parts: lists come back as tuples, part dicts as Parts."""
    if _is_part_dict(value):
        return _part(value)
    if isinstance(value, list):
        return tuple(_from_json_value(v) for v in value)
    return value


def _is_part_dict(value: Any) -> bool:
    return isinstance(value, dict) and "kind" in value and set(value) <= {"kind", "args"}


def _stage(d: dict[str, Any]) -> StageCfg:
    d = dict(d)
    _check_fields(StageCfg, d)
    for key in ("mixer", "norm", "mlp", "block", "downsample"):
        if key in d:
            d[key] = _part(d[key])
    return StageCfg(**d)


def validate(cfg: ModelCfg) -> None:
    """Raise ConfigError for values no model can be built from."""
    if not cfg.stages:
        raise ConfigError("a model needs at least one stage")
    _positive("img_size", cfg.img_size)
    _positive("in_chans", cfg.in_chans)
    if cfg.num_classes < 0:
        raise ConfigError(f"num_classes must be >= 0 (0: no classifier), got {cfg.num_classes}")
    for name in ("drop_rate", "drop_path_rate"):
        value = getattr(cfg, name)
        if not 0.0 <= value < 1.0:
            raise ConfigError(f"{name} must be in [0, 1), got {value}")
    if cfg.drop_path_schedule not in ("linear", "constant"):
        raise ConfigError(f"drop_path_schedule must be 'linear' or 'constant', got {cfg.drop_path_schedule!r}")
    if cfg.head.pool not in ("avg", "max", "token"):
        raise ConfigError(f"head pool must be 'avg', 'max' or 'token', got {cfg.head.pool!r}")
    for i, stage in enumerate(cfg.stages):
        _positive(f"stages[{i}].depth", stage.depth)
        _positive(f"stages[{i}].dim", stage.dim)
        _check_block_parts(f"stages[{i}]", stage)


def built_parts(stage: StageCfg) -> tuple[str, ...]:
    """The StageCfg parts the stage's block kind builds (the others must keep their defaults)."""
    return BLOCKS.get(stage.block.kind).uses


def _check_block_parts(where: str, stage: StageCfg) -> None:
    uses, defaults = built_parts(stage), {f.name: f.default for f in dataclasses.fields(StageCfg)}
    for name in BLOCK_PARTS:
        value = getattr(stage, name)
        if name not in uses and name in defaults and value != defaults[name]:
            raise ConfigError(f"{where}: a {stage.block.kind!r} block uses no {name}, got {name}={value!r}")
    if "norm" in uses and stage.norm is None:
        raise ConfigError(f"{where}: a {stage.block.kind!r} block needs a norm, got none")


def _positive(name: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ConfigError(f"{name} must be a positive integer, got {value!r}")
