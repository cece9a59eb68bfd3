"""The training config: one flat, frozen dataclass whose every field a recipe sets and the command line
overrides (`--set key=value`). Unknown keys and bad values are errors that name the key, never ignored
(timm's YAML configs silently drop a misspelt key)."""

from __future__ import annotations

import dataclasses
import json
import math
import typing
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import ConfigError, json_config
from .trackers import parse_names

if TYPE_CHECKING:
    from ..data.config import DataCfg

CHOICES = {
    "sched": ("cosine", "constant", "step", "tanh", "poly"),
    "amp": ("none", "bf16", "fp16", "auto"),
    "normalize": ("data", "model"),
    "channels_last": ("auto", "on", "off"),
    "device": ("auto", "cpu", "cuda"),
}


@dataclass(frozen=True)
class TrainCfg:
    # what to train on
    model: str = "convmixer_digits"
    data: str = "digits"  # digits, cifar10, cifar100, fashion_mnist, npz, imagefolder
    data_dir: str | None = None  # directory (or .npz file) of the data set; fashion_mnist has a default
    download: bool = False  # cifar10/100: fetch the archive when the directory lacks it
    img_size: int | None = None  # None: the data set's (image folders: median shorter side, at most the model's)
    in_chans: int | None = None  # None: the data set's; set it to assert what the data must have
    model_options: dict[str, Any] = dataclasses.field(default_factory=dict)  # passed to the model's variant
    init_from: str | None = None  # fine-tuning: weights to start from (file or folder); other classes: new head
    # optimisation
    epochs: int = 30
    batch_size: int = 64  # global, over all ranks and accumulation steps
    grad_accum: int = 1  # micro-batches per optimizer step
    opt: str = "adamw"  # adamw, sgd (Nesterov momentum) or any other timm optimizer (timm.optim.list_optimizers)
    lr: float = 2e-3  # peak learning rate, after warm-up
    weight_decay: float = 0.05  # not applied to norms, biases, position embeddings (model.no_weight_decay())
    momentum: float = 0.9  # SGD only
    layer_decay: float | None = None  # timm's layer-wise LR decay (e.g. 0.75 for fine-tuning); None: off
    sched: str = "cosine"  # cosine, constant, or timm's step, tanh, poly (timm.scheduler.create_scheduler_v2)
    decay_epochs: float = 30.0  # step: epochs between decays
    decay_rate: float = 0.1  # step: the factor of each decay; poly: the power (timm's convention)
    warmup_epochs: float = 1.0
    warmup_lr: float = 1e-6
    min_lr: float = 1e-5
    clip_grad: float | None = None  # max global grad norm; None: no clipping
    # regularisation and augmentation
    drop_path: float = 0.0
    drop: float = 0.0
    smoothing: float = 0.0
    mixup: float = 0.0  # Mixup alpha; 0: off
    cutmix: float = 0.0  # CutMix alpha; 0: off
    crop_padding: int = 0  # small images: random crop after zero padding by this much
    hflip: float = 0.0  # probability of a horizontal flip (0 for digits: a mirrored 3 is no 3)
    auto_augment: str | None = None  # image folders: timm RandAugment spec, e.g. "rand-m9-mstd0.5-inc1"
    reprob: float = 0.0  # image folders: RandomErasing probability
    normalize: str = "data"  # mean/std of the training set ("data"; image folders fall back) or the model's
    ema: bool = False
    ema_decay: float = 0.9998
    # execution
    device: str = "auto"
    amp: str = "none"  # "auto": bf16 where the hardware has it; fp16 uses a GradScaler (CUDA)
    channels_last: str = "auto"  # auto: where the model entry measured it faster (tokenmix.memory_format)
    compile: bool = False
    sync_bn: bool = False  # under DDP on CUDA: BatchNorm statistics over the global batch (nn.SyncBatchNorm)
    seed: int = 0
    deterministic: bool = True  # torch.use_deterministic_algorithms; bit-exact resume on CPU
    threads: int | None = None  # torch.set_num_threads; None: leave torch's default
    workers: int = 0  # image folders: DataLoader worker processes
    eval_batch_size: int = 256
    eval_hflip: bool = False  # test-time augmentation: average each test image's logits with its mirror's
    eval_translate: int = 0  # final evaluation only: also the image shifted this many px (evaluate.tta_logits)
    checkpoint_every: int = 0  # optimizer steps between checkpoints; 0: at the end of every epoch only
    keep_checkpoints: int = 2
    progress: bool = True  # tqdm bar on stderr (rank 0, only when stderr is a terminal)
    trackers: str = "tb"  # where steps and epochs are reported besides metrics.csv: tb, wandb, mlflow (a comma list)
    collective_timeout: float = 600.0  # seconds a DDP rank waits for the others before the job ends

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1)


FIELDS = {f.name: f for f in dataclasses.fields(TrainCfg)}
# Fields a resumed run may change: they do not alter the computation.
RESUME_MAY_CHANGE = {
    "progress",
    "trackers",
    "workers",
    "eval_batch_size",
    "eval_hflip",
    "eval_translate",
    "keep_checkpoints",
    "download",
    "data_dir",
    "collective_timeout",
    "init_from",  # read at the start only: a resumed run's weights come from its checkpoint
}


def _type_of(name: str) -> tuple[type, bool]:
    """The field's base type and whether it may be None."""
    hint = typing.get_type_hints(TrainCfg)[name]
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    optional = type(None) in typing.get_args(hint)
    base = typing.get_origin(hint) or hint
    if args and base is typing.Union or str(base) == "<class 'types.UnionType'>":
        base = typing.get_origin(args[0]) or args[0]
    return base, optional


def parse_value(name: str, text: str) -> Any:
    """A command-line string as the field's type: "none" for optional fields, JSON for dicts."""
    if name not in FIELDS:
        raise ConfigError(unknown_key_message(name))
    base, optional = _type_of(name)
    if optional and text.lower() in ("none", "null", ""):
        return None
    try:
        if base is bool:
            if text.lower() not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
                raise ValueError
            return text.lower() in ("true", "1", "yes", "on")
        if base is dict:
            value = json.loads(text)
            if not isinstance(value, dict):
                raise ValueError
            return value
        return base(text)
    except ValueError:
        raise ConfigError(f"{name}: expected {base.__name__}{' or none' if optional else ''}, got {text!r}") from None


def unknown_key_message(name: str) -> str:
    import difflib

    close = difflib.get_close_matches(name, FIELDS, n=3)
    hint = f"; did you mean {', '.join(close)}?" if close else f"; known keys: {', '.join(FIELDS)}"
    return f"unknown config key {name!r}{hint}"


def make_cfg(values: dict[str, Any]) -> TrainCfg:
    """A TrainCfg from a dict (a recipe plus overrides), type-checked and validated."""
    for key, value in values.items():
        if key not in FIELDS:
            raise ConfigError(unknown_key_message(key))
        _check_type(key, value)
    cfg = TrainCfg(**values)
    validate(cfg)
    return cfg


def _check_type(key: str, value: Any) -> None:
    base, optional = _type_of(key)
    if value is None and optional:
        return
    ok = isinstance(value, base) and not (base is not bool and isinstance(value, bool))
    if base is float and isinstance(value, int) and not isinstance(value, bool):
        ok = True
    if not ok:
        raise ConfigError(f"{key}: expected {base.__name__}{' or null' if optional else ''}, got {value!r}")


def validate(cfg: TrainCfg) -> None:
    for key, choices in CHOICES.items():
        if getattr(cfg, key) not in choices:
            raise ConfigError(f"{key} must be one of {', '.join(choices)}; got {getattr(cfg, key)!r}")
    validate_opt(cfg.opt)
    parse_names(cfg.trackers)
    if cfg.layer_decay is not None and not 0 < cfg.layer_decay <= 1:
        raise ConfigError(f"layer_decay must be in (0, 1] or none, got {cfg.layer_decay}")
    for key in ("epochs", "batch_size", "grad_accum", "eval_batch_size", "keep_checkpoints"):
        if getattr(cfg, key) < 1:
            raise ConfigError(f"{key} must be >= 1, got {getattr(cfg, key)}")
    for key in (
        "lr",
        "weight_decay",
        "warmup_epochs",
        "warmup_lr",
        "min_lr",
        "momentum",
        "smoothing",
        "mixup",
        "cutmix",
        "crop_padding",
        "ema_decay",
        "workers",
        "checkpoint_every",
        "seed",
        "eval_translate",
    ):
        value = getattr(cfg, key)
        if not math.isfinite(value) or value < 0:
            raise ConfigError(f"{key} must be a finite number >= 0, got {value}")
    if not (cfg.decay_epochs > 0 and 0 < cfg.decay_rate <= 1):
        raise ConfigError(f"need decay_epochs > 0, decay_rate in (0, 1]; got {cfg.decay_epochs}, {cfg.decay_rate}")
    if cfg.lr == 0:
        raise ConfigError("lr must be > 0")
    if cfg.min_lr > cfg.lr:
        raise ConfigError(f"min_lr {cfg.min_lr} is above the peak lr {cfg.lr}")
    if not cfg.ema_decay < 1:
        raise ConfigError(f"ema_decay must be in [0, 1), got {cfg.ema_decay}")
    if not (math.isfinite(cfg.collective_timeout) and cfg.collective_timeout > 0):
        raise ConfigError(f"collective_timeout must be a finite number of seconds > 0, got {cfg.collective_timeout}")
    for key in ("drop_path", "drop", "hflip", "reprob", "smoothing"):
        if not 0 <= getattr(cfg, key) < 1 and not (key in ("hflip", "reprob") and getattr(cfg, key) == 1):
            raise ConfigError(f"{key} must be in [0, 1), got {getattr(cfg, key)}")
    if cfg.clip_grad is not None and not cfg.clip_grad > 0:
        raise ConfigError(f"clip_grad must be > 0 or none, got {cfg.clip_grad}")
    for key in ("img_size", "in_chans", "threads"):
        value = getattr(cfg, key)
        if value is not None and value < 1:
            raise ConfigError(f"{key} must be >= 1 or none, got {value}")
    if cfg.batch_size % cfg.grad_accum:
        raise ConfigError(f"batch_size {cfg.batch_size} is not divisible by grad_accum {cfg.grad_accum}")


def validate_opt(opt: str) -> None:
    """adamw and sgd, or a name timm's optimizer factory knows (timm is imported only for those)."""
    if opt in ("adamw", "sgd"):
        return
    from timm.optim import list_optimizers

    known = list_optimizers()
    if opt not in known:
        close = [name for name in known if name.startswith(opt[:3])][:8]
        hint = f" (close: {', '.join(close)})" if close else ""
        raise ConfigError(
            f"opt must be adamw, sgd or a timm optimizer (timm.optim.list_optimizers()); got {opt!r}{hint}"
        )


# ---- recipes ---------------------------------------------------------------------------------------------
def recipe_names() -> list[str]:
    return sorted(
        p.name[:-5] for p in resources.files("tokenmix").joinpath("recipes").iterdir() if p.name.endswith(".json")
    )


def load_recipe(name_or_path: str) -> dict[str, Any]:
    """A packaged recipe by name ("small") or a JSON file by path; the "_doc" key is a comment."""
    path = Path(name_or_path)
    if path.suffix == ".json" and path.is_file():
        text = path.read_text()
    else:
        if name_or_path not in recipe_names():
            raise ConfigError(f"unknown recipe {name_or_path!r}; known: {', '.join(recipe_names())} (or a .json path)")
        text = resources.files("tokenmix").joinpath("recipes", f"{name_or_path}.json").read_text()
    return json_config(text, f"recipe {name_or_path}")


def resolve(recipe: str, overrides: dict[str, Any]) -> TrainCfg:
    """Recipe values, then overrides; `overrides` values are already typed (parse_value)."""
    return make_cfg({**load_recipe(recipe), **overrides})


def resumed(saved: dict[str, Any], overrides: dict[str, Any], source: Path) -> TrainCfg:
    """The config stored in a checkpoint (`source`), with the overrides that do not alter the computation."""
    changed = {k: v for k, v in overrides.items() if k not in RESUME_MAY_CHANGE and saved.get(k) != v}
    if changed:
        key, value = next(iter(changed.items()))
        raise ConfigError(
            f"resume: {key}={value!r} differs from the checkpoint's {saved.get(key)!r}; a resumed run keeps its "
            f"config (may change: {', '.join(sorted(RESUME_MAY_CHANGE))})"
        )
    try:
        return make_cfg({**{k: v for k, v in saved.items() if k in FIELDS}, **overrides})
    except ConfigError as e:
        raise ConfigError(f"resume: the config in {source} is not valid: {e}") from None


def data_cfg(cfg: TrainCfg) -> DataCfg:
    """The part of the training config that data loading reads."""
    from ..data.config import DataCfg  # here: the data package imports torch, `tokenmix train --help` must not

    return DataCfg(**{f.name: getattr(cfg, f.name) for f in dataclasses.fields(DataCfg)})
