"""Training checkpoints that survive a kill at any moment, and load without unpickling code.

A checkpoint is a directory `checkpoints/step-00000123/`:
    model.safetensors   weights (metadata: architecture, model config, mean/std, class names)
    ema.safetensors     EMA weights, when EMA is on
    state.pt            optimizer, scheduler, grad scaler, RNG states: tensors and primitives only, read back
                        with torch.load(weights_only=True)
    state.json          counters, the resolved training config, the metrics history

It is written into `.tmp-step-…` in the same directory, every file fsynced, the directory fsynced, then
renamed into place and the parent fsynced (rename is atomic on POSIX; without the fsyncs a power loss may
leave a renamed but empty file — timm, Lightning and torch.save do none of this). A directory named step-* is
therefore complete; temp directories are ignored and removed.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from ..checkpoint import CheckpointError, is_safetensors, read_state_dict

PREFIX, TMP = "step-", ".tmp-"


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_file(path: Path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())


def write_dir_atomically(final: Path, write: Callable[[Path], None]) -> None:
    """Let `write(tmp)` fill a temp directory beside `final`, then make it `final` in one rename."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f"{TMP}{final.name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    write(tmp)
    for f in tmp.iterdir():
        fsync_file(f)
    fsync_dir(tmp)
    if final.exists():  # a re-save of the same step (a resumed run that ended exactly here)
        shutil.rmtree(final)
    os.rename(tmp, final)
    fsync_dir(final.parent)


def write_file_atomically(final: Path, write: Callable[[Path], None]) -> None:
    """The same for one file: write `.tmp-name`, fsync, rename, fsync the directory."""
    tmp = final.parent / f"{TMP}{final.name}-{os.getpid()}"
    write(tmp)
    fsync_file(tmp)
    os.replace(tmp, final)
    fsync_dir(final.parent)


def save_tensors(path: Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str]) -> None:
    save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, str(path), metadata=metadata)


def save_checkpoint(
    root: Path,
    step: int,
    tensors: dict[str, dict[str, torch.Tensor]],
    metadata: dict[str, str],
    state: dict[str, Any],
    info: dict[str, Any],
    keep: int,
) -> Path:
    """Write checkpoint `step` under `root` (tensors: file stem -> state dict), then prune to `keep`."""
    final = root / f"{PREFIX}{step:08d}"

    def write(tmp: Path) -> None:
        for stem, sd in tensors.items():
            save_tensors(tmp / f"{stem}.safetensors", sd, metadata)
        torch.save(state, tmp / "state.pt")
        (tmp / "state.json").write_text(json.dumps(info, indent=1))

    write_dir_atomically(final, write)
    for old in list_checkpoints(root)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def list_checkpoints(root: Path) -> list[Path]:
    """Complete checkpoints under root, oldest first; leftover temp directories are removed."""
    if not root.is_dir():
        return []
    for tmp in root.glob(f"{TMP}*"):
        shutil.rmtree(tmp, ignore_errors=True)
    return sorted(p for p in root.iterdir() if p.is_dir() and p.name.startswith(PREFIX))


def find_checkpoint(path: Path) -> Path:
    """A checkpoint directory, or the newest checkpoint of a run directory."""
    if not path.exists():
        raise FileNotFoundError(f"resume: {path} does not exist")
    if path.is_file():
        raise CheckpointError(
            f"resume: expected a checkpoint directory (with state.json) or a run directory, got the file {path}"
        )
    if (path / "state.json").is_file():
        return path
    found = list_checkpoints(path / "checkpoints") or list_checkpoints(path)
    if not found:
        raise CheckpointError(f"resume: no checkpoint in {path}")
    return found[-1]


def load_state(ckpt: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(state.pt, state.json) of a checkpoint. state.pt is opened with weights_only=True: a pickle that needs
    any class or function beyond tensors and primitives is refused before it can run."""
    try:
        info = json.loads((ckpt / "state.json").read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise CheckpointError(f"resume: {ckpt / 'state.json'} is unreadable: {e}") from None
    path = ckpt / "state.pt"
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"resume: {path} is missing") from None
    except pickle.UnpicklingError as e:
        raise CheckpointError(
            f"resume: {path} holds pickled objects that are not plain tensors; refusing to unpickle it "
            f"({str(e).splitlines()[0]})"
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError) as e:
        raise CheckpointError(f"resume: {path} is not a readable PyTorch file: {str(e).splitlines()[0]}") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"resume: {path} holds a {type(state).__name__}, expected a dict")
    return state, info


def read_weights(path: Path) -> dict[str, torch.Tensor]:
    """A checkpoint's .safetensors file; anything else under that name (a pickle) is refused unread."""
    if not path.is_file():
        raise CheckpointError(f"resume: {path} is missing")
    if not is_safetensors(path):
        raise CheckpointError(f"resume: {path} is not a safetensors file; refusing to unpickle it")
    return read_state_dict(path)
