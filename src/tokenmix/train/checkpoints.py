"""Training checkpoints that survive a kill at any moment, and load without unpickling code.

A checkpoint is a directory `checkpoints/step-00000123/`:
    model.safetensors   weights (metadata: architecture, model config, mean/std, class names)
    ema.safetensors     EMA weights, when EMA is on
    state.pt            optimizer, scheduler, grad scaler, RNG states: tensors and primitives only, read back
                        with torch.load(weights_only=True)
    state.json          counters, the resolved training config, the metrics history

It is written into `.tokenmix-tmp-step-…-<pid>` in the same directory, every file fsynced, the directory
fsynced, then renamed into place and the parent fsynced (rename is atomic on POSIX; without the fsyncs a power
loss may leave a renamed but empty file — timm, Lightning and torch.save do none of this). A directory named
step-* is therefore complete; temp entries are ignored, and removed by the run that holds the folder's lock.
A write that fails (disk full, read-only) removes its temp entry and raises WriteError naming the folder.
Only finite tensors are saved: a state with NaN/Inf anywhere (weights, BatchNorm statistics, optimizer
moments) is refused, so every checkpoint on disk is one a run can continue from.
"""

from __future__ import annotations

import errno
import json
import os
import pickle
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from ..checkpoint import CheckpointError, is_safetensors, read_state_dict
from .state import CheckpointInfo

PREFIX, TMP = "step-", ".tokenmix-tmp-"
# Temp names (this version's and the older ".tmp-") of the entries a run writes, `<name>-<pid>`: only these
# are ever removed, never a user's own dot-files.
_OWN_TMP = re.compile(
    r"(\.tokenmix-tmp-|\.tmp-)"
    r"(step-\d{8}|probe|model\.safetensors|ema\.safetensors|config\.json|summary\.json|metrics\.csv|curves\.png)-\d+"
)


class WriteError(CheckpointError):
    """A checkpoint or run file could not be written (disk full, read-only file system, no permission)."""


class NonFiniteState(CheckpointError):
    """A state to be saved holds NaN or Inf; it was not written."""


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
    tmp = final.parent / f"{TMP}{final.name}-{os.getpid()}"
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
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
    except Exception as e:
        error = _as_write_error(e, final)  # before the cleanup frees the space that ran out
        shutil.rmtree(tmp, ignore_errors=True)
        raise error from None


def write_file_atomically(final: Path, write: Callable[[Path], None]) -> None:
    """The same for one file: write `.tokenmix-tmp-name-<pid>`, fsync, rename, fsync the directory."""
    tmp = final.parent / f"{TMP}{final.name}-{os.getpid()}"
    try:
        write(tmp)
        fsync_file(tmp)
        os.replace(tmp, final)
        fsync_dir(final.parent)
    except Exception as e:
        error = _as_write_error(e, final)
        tmp.unlink(missing_ok=True)
        raise error from None


def _as_write_error(e: Exception, final: Path) -> Exception:
    """One line naming the folder and the cause. torch.save reports a full disk as a RuntimeError from its
    C++ stream (`basic_ios::clear: iostream error`, `unexpected pos …`), so when the error has no errno the
    file system is asked with a small probe write."""
    if not (isinstance(e, OSError) and e.errno is not None):
        e = _probe_write(final.parent) or e
    if isinstance(e, OSError) and e.errno is not None:
        cause = f"{os.strerror(e.errno)} ({errno.errorcode.get(e.errno, e.errno)})"
    elif isinstance(e, (OSError, RuntimeError)):
        cause = str(e).splitlines()[0] if str(e) else type(e).__name__
    else:
        return e
    return WriteError(f"cannot write {final.name} in {final.parent}: {cause}")


def _probe_write(folder: Path) -> OSError | None:
    """The error a 64 KiB write into folder raises now (ENOSPC, EROFS, EDQUOT, ...), or None."""
    probe = folder / f"{TMP}probe-{os.getpid()}"
    try:
        with open(probe, "wb") as f:
            f.write(bytes(65536))
            f.flush()
            os.fsync(f.fileno())
    except OSError as e:
        return e
    finally:
        probe.unlink(missing_ok=True)
    return None


def first_non_finite(tensors: dict[str, Any], prefix: str = "") -> str | None:
    """The name of the first floating-point tensor in a nested dict/list that holds NaN or Inf, else None."""
    for key, value in tensors.items() if isinstance(tensors, dict) else enumerate(tensors):
        name = f"{prefix}{key}"
        if isinstance(value, torch.Tensor):
            if value.is_floating_point() and not bool(torch.isfinite(value).all()):
                return name
        elif isinstance(value, (dict, list, tuple)):
            found = first_non_finite(value, f"{name}.")
            if found is not None:
                return found
    return None


def remove_leftovers(run_dir: Path) -> list[str]:
    """Delete the temp entries that killed runs left in run_dir and its checkpoints/ (names as written by
    write_*_atomically only). Call it only while holding the folder's lock. Returns what was removed."""
    removed = []
    for folder in (run_dir, run_dir / "checkpoints"):
        if not folder.is_dir():
            continue
        for entry in folder.iterdir():
            if _OWN_TMP.fullmatch(entry.name):
                shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
                removed.append(str(entry))
    return removed


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
    """Write checkpoint `step` under `root` (tensors: file stem -> state dict; info: state.json, e.g. a
    CheckpointInfo's to_dict()), then prune to `keep`."""
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
    """Complete checkpoints under root, oldest first (temp entries are not checkpoints; nothing is deleted)."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_dir() and re.fullmatch(rf"{PREFIX}\d{{8}}", p.name))


def newest_checkpoint(root: Path) -> Path | None:
    found = list_checkpoints(root)
    return found[-1] if found else None


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


def read_info(ckpt: Path) -> Any:
    """state.json of a checkpoint as parsed JSON (its schema is the trainer's)."""
    path = ckpt / "state.json"
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise CheckpointError(f"resume: {path} is unreadable: {e}") from None


def load_info(ckpt: Path) -> CheckpointInfo:
    """state.json of an image-training checkpoint, every field checked."""
    return CheckpointInfo.from_dict(read_info(ckpt), ckpt / "state.json")


def load_state(ckpt: Path) -> tuple[dict[str, Any], CheckpointInfo]:
    """(state.pt, state.json) of an image-training checkpoint; see read_state."""
    info = load_info(ckpt)  # every field checked before state.pt is opened
    return read_state(ckpt, info)[0], info


def read_state(ckpt: Path, info: Any = None) -> tuple[dict[str, Any], Any]:
    """(state.pt, parsed state.json, unless given) of a checkpoint. state.pt is opened with weights_only=True: a
    pickle that needs any class or function beyond tensors and primitives is refused before it can run."""
    info = read_info(ckpt) if info is None else info
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
