"""The language-model training config: one frozen dataclass, every field settable from the command line
(`--set key=value`), checked before anything runs. Defaults are nanoGPT's CPU character-level Shakespeare run
(karpathy/nanoGPT README, "quick start": 4 layers, 4 heads, width 128, context 64, batch 12, 2000 iterations,
no dropout, with config/train_shakespeare_char.py's optimiser: AdamW lr 1e-3 -> 1e-4 cosine after 100 warm-up
steps, betas (0.9, 0.99), weight decay 0.1, gradient clipping 1.0)."""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import typing
from dataclasses import dataclass
from typing import Any

from ..config import ConfigError
from ..train.trackers import parse_names
from .tokenizers import KINDS

CHOICES = {"objective": ("causal", "mlm"), "tokenizer": KINDS, "device": ("auto", "cpu", "cuda")}


@dataclass(frozen=True)
class LMTrainCfg:
    data: str = ""  # a UTF-8 text file
    model: str = "transformer_lm_tiny"  # tokenmix.lm.list_lm_models()
    objective: str = "causal"  # causal: next token; mlm: BERT's masked tokens
    tokenizer: str = "char"  # char, or bpe: byte-level BPE trained on the data
    bpe_vocab_size: int = 1024
    token_weights: str | None = None  # gMLP/aMLP: "toeplitz" (default) or "dense"
    context: int = 64  # tokens per sequence; the model is built for this length
    val_fraction: float = 0.1  # the held-out tail of the text
    mask_rate: float = 0.15  # mlm: share of positions scored
    steps: int = 2000  # optimizer steps
    batch_size: int = 12
    lr: float = 1e-3  # peak, after warm-up
    min_lr: float = 1e-4  # cosine decay ends here at the last step
    warmup_steps: int = 100
    weight_decay: float = 0.1  # matrices and embeddings only; biases, norms and token weights get none
    decay_embeddings: bool = True  # False: nanoGPT's early rule (Jan 2023): nn.Embedding weights undecayed
    beta1: float = 0.9
    beta2: float = 0.99
    clip_grad: float | None = 1.0  # max global grad norm; None: no clipping
    eval_every: int = 250  # steps between validation passes (and one at the end)
    eval_batch_size: int = 256
    log_every: int = 50  # steps between progress lines
    trackers: str = "tb"  # where steps and validations are reported besides metrics.csv: tb, wandb, mlflow
    checkpoint_every: int = 250  # steps between checkpoints (and one at the end)
    keep_checkpoints: int = 2
    seed: int = 0
    device: str = "auto"
    threads: int | None = None  # torch.set_num_threads; None: torch's default
    deterministic: bool = True  # bit-exact resume on CPU

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1)


FIELDS = {f.name: f for f in dataclasses.fields(LMTrainCfg)}
HINTS = typing.get_type_hints(LMTrainCfg)
# Fields a resumed run may change: they do not alter the computation.
RESUME_MAY_CHANGE = {"log_every", "trackers", "eval_batch_size", "keep_checkpoints", "device"}


def field_type(name: str) -> tuple[type, bool]:
    """(base type, may be None) of a field."""
    args = typing.get_args(HINTS[name])
    return (next(a for a in args if a is not type(None)), True) if args else (HINTS[name], False)


def parse_value(name: str, text: str) -> Any:
    """A command-line string as the field's type ("none" for optional fields)."""
    check_known(name)
    base, optional = field_type(name)
    if optional and text.lower() in ("none", "null"):
        return None
    if base is bool:
        if text.lower() not in ("true", "false", "1", "0", "yes", "no", "on", "off"):
            raise ConfigError(f"{name}: expected true or false, got {text!r}")
        return text.lower() in ("true", "1", "yes", "on")
    try:
        return base(text)
    except ValueError:
        raise ConfigError(f"{name}: expected {base.__name__}{' or none' if optional else ''}, got {text!r}") from None


def check_known(name: str) -> None:
    if name not in FIELDS:
        close = difflib.get_close_matches(name, FIELDS, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else f"; known keys: {', '.join(FIELDS)}"
        raise ConfigError(f"unknown config key {name!r}{hint}")


def make_cfg(values: dict[str, Any]) -> LMTrainCfg:
    for key, value in values.items():
        check_known(key)
        base, optional = field_type(key)
        if value is None and optional:
            continue
        ok = isinstance(value, base) and (base is bool or not isinstance(value, bool))
        if not ok and not (base is float and isinstance(value, int) and not isinstance(value, bool)):
            raise ConfigError(f"{key}: expected {base.__name__}, got {value!r}")
    cfg = LMTrainCfg(**values)
    validate(cfg)
    return cfg


def validate(cfg: LMTrainCfg) -> None:
    if not cfg.data:
        raise ConfigError("data: expected the path of a text file (--data FILE.txt)")
    for key, choices in CHOICES.items():
        if getattr(cfg, key) not in choices:
            raise ConfigError(f"{key} must be one of {', '.join(choices)}; got {getattr(cfg, key)!r}")
    parse_names(cfg.trackers)
    if cfg.token_weights not in (None, "toeplitz", "dense"):
        raise ConfigError(f"token_weights must be toeplitz, dense or none; got {cfg.token_weights!r}")
    for key in ("context", "steps", "batch_size", "eval_every", "eval_batch_size", "log_every", "keep_checkpoints"):
        if getattr(cfg, key) < 1:
            raise ConfigError(f"{key} must be >= 1, got {getattr(cfg, key)}")
    if cfg.bpe_vocab_size < 257:
        raise ConfigError(f"bpe_vocab_size must be > 256 (the byte alphabet), got {cfg.bpe_vocab_size}")
    for key in ("lr", "min_lr", "weight_decay", "warmup_steps", "checkpoint_every", "seed"):
        value = getattr(cfg, key)
        if not math.isfinite(value) or value < 0:
            raise ConfigError(f"{key} must be a finite number >= 0, got {value}")
    if not cfg.lr > 0 or cfg.min_lr > cfg.lr:
        raise ConfigError(f"need 0 < min_lr <= lr, got lr {cfg.lr} and min_lr {cfg.min_lr}")
    for key in ("val_fraction", "mask_rate", "beta1", "beta2"):
        if not 0 < getattr(cfg, key) < 1:
            raise ConfigError(f"{key} must be in (0, 1), got {getattr(cfg, key)}")
    if cfg.clip_grad is not None and not cfg.clip_grad > 0:
        raise ConfigError(f"clip_grad must be > 0 or none, got {cfg.clip_grad}")
    if cfg.threads is not None and cfg.threads < 1:
        raise ConfigError(f"threads must be >= 1 or none, got {cfg.threads}")
