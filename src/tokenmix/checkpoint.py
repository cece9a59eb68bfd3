"""Model weights on disk: safetensors for everything we write; .pth/.pt read with weights_only=True only.

Never unpickles code: a pickle that needs anything beyond tensors, containers and primitives (plus the
argparse.Namespace that timm's training checkpoints carry) is refused, and the file is named in the error.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

WRAPPER_KEYS = ("state_dict_ema", "model_ema", "state_dict", "model")  # timm's preference order
PREFIXES = ("module.", "_orig_mod.")  # left by DDP and torch.compile


class CheckpointError(ValueError):
    """A weights file that cannot be used, with the file and the reason."""


def is_safetensors(path: Path) -> bool:
    with open(path, "rb") as f:
        head = f.read(9)
    return len(head) == 9 and head[8:9] == b"{"


def read_state_dict(path: str | os.PathLike[str]) -> dict[str, torch.Tensor]:
    """The tensors of a .safetensors or .pth/.pt/.bin file, unwrapped from training-checkpoint dicts."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path} does not exist")
    if path.suffix == ".npz":  # the JAX releases (tokenmix.convert.jax)
        from .convert.jax import read_npz

        return read_npz(path)
    if is_safetensors(path) or path.suffix == ".safetensors":  # torch.load too hands that suffix to safetensors
        try:
            return load_file(path)
        except (SafetensorError, OSError) as e:
            raise CheckpointError(f"checkpoint {path} is not a readable safetensors file: {e}") from None
    return _unwrap(_torch_load(path), path)


def _torch_load(path: Path) -> Any:
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        unsafe = _unsafe_globals(path)
        if not unsafe:
            raise CheckpointError(
                f"checkpoint {path} is not a readable PyTorch file: {str(e).splitlines()[0]}"
            ) from None
        raise CheckpointError(
            f"checkpoint {path} holds pickled objects that are not plain weights (it asks for {', '.join(unsafe)}); "
            "refusing to unpickle it. If you trust it, convert it to safetensors yourself."
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError) as e:
        raise CheckpointError(f"checkpoint {path} is not a readable PyTorch file: {str(e).splitlines()[0]}") from None


def _unsafe_globals(path: Path) -> list[str]:
    try:
        return list(torch.serialization.get_unsafe_globals_in_checkpoint(path))
    except Exception:  # a file too broken to list is reported by the caller's error already
        return []


def _unwrap(obj: Any, path: Path) -> dict[str, torch.Tensor]:
    if isinstance(obj, dict):
        for key in WRAPPER_KEYS:
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
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

    for name in keymaps:
        try:
            converted = KEYMAPS[name].to_ours(state_dict)
        except KeyError:
            continue
        if set(converted) == ours:
            return converted
    if set(state_dict) & ours:  # tokenmix keys, some missing or extra: the strict load names them
        return state_dict
    known = ", ".join(("tokenmix",) + tuple(keymaps))
    raise CheckpointError(f"{source}: keys are in none of the known formats ({known}), e.g. {next(iter(state_dict))!r}")


def load_state_dict_into(model: nn.Module, state_dict: dict[str, torch.Tensor], source: str) -> None:
    """Strict load of tokenmix-keyed weights, with one error naming the first missing, extra or misshapen key."""
    ours = model.state_dict()
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


def load_checkpoint(model: nn.Module, path: str | os.PathLike[str], keymaps: tuple[str, ...] = ()) -> None:
    """Load weights from a file into an existing model (same resolution; create_model also resizes)."""
    source = f"checkpoint {path}"
    load_state_dict_into(model, to_tokenmix_keys(read_state_dict(path), model, keymaps, source), source)


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
    """The metadata save_weights wrote (architecture name, config as a dict)."""
    with open(path, "rb") as f:
        size = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(size))
    meta = dict(header.get("__metadata__", {}))
    if "config" in meta:
        meta["config"] = json.loads(meta["config"])
    return meta
