"""Model weights on disk: safetensors for everything we write; .pth/.pt read with weights_only=True only.

Never unpickles code: a pickle that needs anything beyond tensors, containers and primitives (plus the
argparse.Namespace that timm's training checkpoints carry) is refused, and the file is named in the error.

Never inflates more than the model can need: a file's declared sizes (the zip entries of a .pth, the tensor
specs of a safetensors header) are checked against a byte budget before any tensor is read, so a 1 MB
zip bomb is refused instead of growing to gigabytes. Only zip-format .pth files are read (what torch.save has
written since 1.6): the legacy format declares no sizes up front.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import pickle
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

LOG = logging.getLogger("tokenmix")

# Training checkpoints wrap the weights. The official evaluation scripts (DeiT, GFNet, CycleMLP, SPACH) evaluate
# checkpoint["model"], so that is the default; the EMA copy only when asked (timm's load_checkpoint prefers it).
WRAPPER_KEYS = ("state_dict", "model")
EMA_KEYS = ("state_dict_ema", "model_ema")
PREFIXES = ("module.", "_orig_mod.")  # left by DDP and torch.compile

# A file may hold more than the model's float32 weights (an EMA copy, two Adam moments, float64, a checkpoint
# at a higher resolution whose token MLPs are larger), but not more than this many times as much.
BUDGET_FACTOR = 8
BUDGET_SLACK = 16 << 20  # pickled metadata, tiny models
DEFAULT_BUDGET = 4 << 30  # when no model is given to size the budget against
MAX_HEADER = 100 << 20  # safetensors' own limit on the JSON header

SAFETENSORS_DTYPES = {
    "BOOL": torch.bool,
    "U8": torch.uint8,
    "I8": torch.int8,
    "I16": torch.int16,
    "I32": torch.int32,
    "I64": torch.int64,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "F32": torch.float32,
    "F64": torch.float64,
}


class CheckpointError(ValueError):
    """A weights file that cannot be used, with the file and the reason."""


def is_safetensors(path: Path) -> bool:
    with open(path, "rb") as f:
        head = f.read(9)
    return len(head) == 9 and head[8:9] == b"{"


def byte_budget(model: torch.nn.Module | None) -> int:
    """The most bytes a weights file for `model` may declare (meta-device models are fine: only shapes count)."""
    if model is None:
        return DEFAULT_BUDGET
    return BUDGET_FACTOR * 4 * sum(t.numel() for t in model.state_dict().values()) + BUDGET_SLACK


def read_state_dict(
    path: str | os.PathLike[str], model: torch.nn.Module | None = None, use_ema: bool = False
) -> dict[str, torch.Tensor]:
    """The tensors of a .safetensors or .pth/.pt/.bin file, unwrapped from training-checkpoint dicts (their
    `model` / `state_dict` entry, or with use_ema their `model_ema` / `state_dict_ema` entry; which one was
    taken is logged to the "tokenmix" logger).

    With `model`, the file's declared sizes must fit its byte budget and, before any tensor is read, each
    tensor under one of the model's keys must have the model's kind of dtype (a safetensors header says it)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    budget = byte_budget(model)
    if use_ema and (path.suffix == ".npz" or is_safetensors(path)):
        raise CheckpointError(f"checkpoint {path} holds one set of weights; use_ema / --ema is for training .pth files")
    if path.suffix == ".npz":  # the JAX releases (tokenmix.convert.jax)
        from .convert.jax import read_npz

        return read_npz(path, budget)
    if is_safetensors(path) or path.suffix == ".safetensors":  # torch.load too hands that suffix to safetensors
        specs = safetensors_specs(path)
        _check_declared(path, sum(_nbytes(shape, dtype) for shape, dtype in specs.values()), budget)
        if model is not None:
            _raise_on_dtypes(f"checkpoint {path}", specs, model.state_dict())
        try:
            return load_file(path)
        except (SafetensorError, OSError) as e:
            raise CheckpointError(f"checkpoint {path} is not a readable safetensors file: {e}") from None
    check_zip_sizes(path, budget)
    return _unwrap(_torch_load(path), path, use_ema)


def safetensors_specs(path: Path) -> dict[str, tuple[tuple[int, ...], torch.dtype]]:
    """key -> (shape, dtype) from a safetensors header, read without touching the tensor data."""
    header = _safetensors_header(path)
    specs = {}
    for key, spec in header.items():
        if key == "__metadata__":
            continue
        try:
            dtype, shape = SAFETENSORS_DTYPES[spec["dtype"]], tuple(int(n) for n in spec["shape"])
        except (KeyError, TypeError, ValueError):
            known = ", ".join(SAFETENSORS_DTYPES)
            raise CheckpointError(
                f"checkpoint {path}: tensor {key!r} has spec {spec!r}; expected a dtype of {known} and a shape"
            ) from None
        specs[key] = (shape, dtype)
    return specs


def _safetensors_header(path: Path) -> dict[str, Any]:
    size = path.stat().st_size
    with open(path, "rb") as f:
        length = int.from_bytes(f.read(8), "little")
        if not 2 <= length <= min(MAX_HEADER, size - 8):
            raise CheckpointError(
                f"checkpoint {path} is not a readable safetensors file: its header claims {length} bytes "
                f"in a {size}-byte file"
            )
        raw = f.read(length)
    try:
        header = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(
            f"checkpoint {path} is not a readable safetensors file: header is not JSON ({e})"
        ) from None
    if not isinstance(header, dict) or not all(isinstance(v, dict) for v in header.values()):
        raise CheckpointError(f"checkpoint {path} is not a readable safetensors file: header is not a JSON object")
    return header


def _nbytes(shape: tuple[int, ...], dtype: torch.dtype) -> int:
    return math.prod(shape) * dtype.itemsize


def _check_declared(path: Path, declared: int, budget: int) -> None:
    if declared > budget:
        raise CheckpointError(
            f"checkpoint {path} declares {declared / 2**20:.1f} MiB of data, more than the {budget / 2**20:.1f} MiB "
            "the model can need; refusing to read it"
        )


def check_zip_sizes(path: Path, budget: int) -> None:
    """Refuse a .pth that is not a zip archive, or whose entries would inflate past `budget`, before torch.load."""
    try:
        with zipfile.ZipFile(path) as archive:
            declared = sum(entry.file_size for entry in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise CheckpointError(
            f"checkpoint {path} is not a readable PyTorch file: expected the zip format torch.save writes, got "
            f"{'an empty file' if path.stat().st_size == 0 else f'a file that is not one ({e})'}; legacy pickles "
            "are not read (convert it to safetensors where you trust it)"
        ) from None
    _check_declared(path, declared, budget)


def _torch_load(path: Path) -> Any:
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        unsafe = _unsafe_globals(path)
        if not unsafe:
            raise CheckpointError(f"checkpoint {path} is not a readable PyTorch file: {_reason(e)}") from None
        raise CheckpointError(
            f"checkpoint {path} holds pickled objects that are not plain weights (it asks for {', '.join(unsafe)}); "
            "refusing to unpickle it. If you trust it, convert it to safetensors yourself."
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError, IndexError, KeyError) as e:
        raise CheckpointError(f"checkpoint {path} is not a readable PyTorch file: {_reason(e)}") from None


def _reason(error: Exception) -> str:
    """The line of torch's message that says what is wrong, never its advice to retry with weights_only=False."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    said = [line for line in lines if line.startswith("WeightsUnpickler error:")]
    plain = [line for line in lines if "weights_only" not in line and "can still be loaded" not in line]
    return (said or plain or [type(error).__name__])[0]


def _wrapper_key(obj: dict, path: Path, use_ema: bool) -> str | None:
    """The entry of a training checkpoint that holds the weights to load; None: `obj` is the state dict."""
    plain = next((k for k in WRAPPER_KEYS if isinstance(obj.get(k), dict)), None)
    ema = next((k for k in EMA_KEYS if isinstance(obj.get(k), dict)), None)
    if use_ema and ema is None:
        held = plain or "a bare state dict"
        raise CheckpointError(f"checkpoint {path} holds no EMA weights ({' / '.join(EMA_KEYS)}), only {held}")
    key = ema if use_ema or plain is None else plain
    if key is not None:
        also = f" (it also holds {ema!r}: use_ema=True or --ema loads those)" if ema and key != ema else ""
        LOG.info(f"checkpoint {path}: loading its {key!r} weights{also}")
    return key


def _unsafe_globals(path: Path) -> list[str]:
    try:
        return list(torch.serialization.get_unsafe_globals_in_checkpoint(path))
    except Exception:  # a file too broken to list is reported by the caller's error already
        return []


def _unwrap(obj: Any, path: Path, use_ema: bool = False) -> dict[str, torch.Tensor]:
    if isinstance(obj, dict):
        key = _wrapper_key(obj, path, use_ema)
        if key is not None:
            obj = obj[key]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(f"checkpoint {path} holds no state dict of tensors")
    out = {}
    for k, v in obj.items():
        for prefix in PREFIXES:
            k = k.removeprefix(prefix)
        out[k] = v
    return out


def to_tokenmix_keys(
    state_dict: dict[str, torch.Tensor], model: torch.nn.Module, keymaps: tuple[str, ...], source: str
) -> dict[str, torch.Tensor]:
    """`state_dict` in the model's keys: as it is, or converted by the first of `keymaps` (timm's, an official
    release's) that yields exactly the model's keys. Shapes are checked when loading."""
    ours = set(model.state_dict())
    if set(state_dict) == ours:
        return state_dict
    from .convert import KEYMAPS

    near = None  # the first layout that reads every key, though not into this configuration's keys
    for name in keymaps:
        try:
            converted = KEYMAPS[name].to_ours(state_dict)
        except KeyError:
            continue
        if set(converted) == ours:
            LOG.info(f"{source}: keys in the {KEYMAPS[name].name} layout")
            return converted
        near = near or (KEYMAPS[name], set(converted))
    shared = set(state_dict) & ours
    if 2 * len(shared) >= len(ours):  # tokenmix keys, some missing or extra: the strict load names them
        return state_dict
    if near is not None:
        layout, keys = near
        lacks, extra = sorted(ours - keys), sorted(keys - ours)
        raise CheckpointError(
            f"{source}: its keys are in the {layout.name} layout, but not this configuration's: it lacks "
            f"{lacks[0] if lacks else None!r} and has {extra[0] if extra else None!r}"
            + (f"; {layout.hint}" if layout.hint else "")
        )
    known = ", ".join(("tokenmix",) + tuple(keymaps))
    raise CheckpointError(
        f"{source}: keys are in none of the known formats ({known}): {len(shared)} of the model's {len(ours)} keys "
        f"are in it; it has e.g. {next((k for k in state_dict if k not in ours), None)!r}"
    )


def load_state_dict_into(model: nn.Module, state_dict: dict[str, torch.Tensor], source: str) -> None:
    """Strict load of tokenmix-keyed weights, with one error naming the first missing, extra or misshapen key,
    or a tensor of the wrong kind of dtype (never cast: int8 or bool in place of floats is a broken file)."""
    ours = model.state_dict()
    _raise_on_dtypes(source, {k: (tuple(v.shape), v.dtype) for k, v in state_dict.items()}, ours)
    missing = sorted(set(ours) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(ours))
    wrong = [k for k in ours if k in state_dict and state_dict[k].shape != ours[k].shape]
    if missing or unexpected or wrong:
        problems = []
        if missing:
            problems.append(f"{len(missing)} missing (first {missing[0]!r})")
        if unexpected:
            problems.append(f"{len(unexpected)} unexpected (first {unexpected[0]!r})")
        if wrong:
            k = wrong[0]
            problems.append(f"{k!r} has shape {tuple(state_dict[k].shape)}, the model expects {tuple(ours[k].shape)}")
        name = model.pretrained_cfg.get("architecture", type(model).__name__)
        raise CheckpointError(f"{source} does not fit {name}: " + "; ".join(problems))
    model.load_state_dict(state_dict)


def _dtype_kind(dtype: torch.dtype) -> str:
    if dtype == torch.bool:
        return "bool"
    return "floating point" if dtype.is_floating_point else "complex" if dtype.is_complex else "integer"


def _raise_on_dtypes(
    source: str, specs: Mapping[str, tuple[tuple[int, ...], torch.dtype]], ours: Mapping[str, torch.Tensor]
) -> None:
    """A float16 file for a float32 model is fine (a cast of precision); an int8 or bool tensor is not."""
    for key, (_, dtype) in specs.items():
        if key in ours and _dtype_kind(dtype) != _dtype_kind(ours[key].dtype):
            raise CheckpointError(
                f"{source}: tensor {key!r} is {str(dtype).removeprefix('torch.')}, the model expects "
                f"{_dtype_kind(ours[key].dtype)} ({str(ours[key].dtype).removeprefix('torch.')}); refusing to cast it"
            )


def load_checkpoint(model: nn.Module, path: str | os.PathLike[str], keymaps: tuple[str, ...] = ()) -> None:
    """Load weights from a file into an existing model (same resolution; create_model also resizes)."""
    source = f"checkpoint {path}"
    load_state_dict_into(model, to_tokenmix_keys(read_state_dict(path, model), model, keymaps, source), source)


def save_weights(model: nn.Module, path: str | os.PathLike[str]) -> None:
    """Weights as safetensors, with the model name and its config in the file's metadata."""
    tensors = {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}
    metadata = {
        "format": "pt",
        "architecture": model.pretrained_cfg.get("architecture", ""),
        "config": model.cfg.to_json(),
    }
    save_file(tensors, str(path), metadata=metadata)


def read_metadata(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The metadata save_weights and training wrote (architecture, config, mean, std, classes: JSON fields
    decoded), {} for a .pth file. A field that is not what it should be is an error naming it."""
    path = Path(path)
    if not is_safetensors(path):
        return {}
    meta = _safetensors_header(path).get("__metadata__") or {}
    if not isinstance(meta, dict):
        raise CheckpointError(f"checkpoint {path}: metadata is {type(meta).__name__}, expected a JSON object")
    meta = dict(meta)
    for field, expected in JSON_FIELDS.items():
        if field not in meta:
            continue
        try:
            meta[field] = json.loads(meta[field])
        except (TypeError, json.JSONDecodeError) as e:
            raise CheckpointError(f"checkpoint {path}: metadata field {field!r} is not JSON ({e})") from None
        if not _is(meta[field], expected):
            raise CheckpointError(
                f"checkpoint {path}: metadata field {field!r} should be {expected}, got {str(meta[field])[:80]!r}"
            )
    return meta


# metadata fields stored as JSON text -> what they must decode to
JSON_FIELDS = {
    "config": "an object",
    "mean": "a list of numbers",
    "std": "a list of positive numbers",
    "classes": "a list of names",
}


def _is(value: Any, expected: str) -> bool:
    if expected == "an object":
        return isinstance(value, dict)
    if not isinstance(value, list) or not value:
        return False
    if expected == "a list of names":
        return all(isinstance(v, str) for v in value)
    numbers = all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in value)
    return numbers and (expected != "a list of positive numbers" or all(v > 0 for v in value))


def model_options(path: str | os.PathLike[str], meta: dict[str, Any], **flags: int | None) -> dict[str, int]:
    """num_classes, in_chans and img_size to rebuild the model a checkpoint was saved from: those of the config
    stored in its metadata, each replaced by a flag the user gave (flags that are None were not given)."""
    options = {}
    if "config" in meta:
        from .config import ModelCfg

        try:
            cfg = ModelCfg.from_dict(meta["config"])
        except (ValueError, KeyError, TypeError) as e:
            raise CheckpointError(f"checkpoint {path}: metadata field 'config' is not a model config ({e})") from None
        options = dict(num_classes=cfg.num_classes, in_chans=cfg.in_chans, img_size=cfg.img_size)
    options.update({k: v for k, v in flags.items() if v is not None})
    return options
