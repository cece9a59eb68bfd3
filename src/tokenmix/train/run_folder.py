"""The run folder: which folder a run writes, whether it may, and what it finds there.

A folder holds one run. A new run goes into a folder that does not exist or holds no run; continuing a run
(`--resume auto`, or `--resume` of one of its checkpoints) is the one way back into a folder that holds one,
so a second run can never prune, overwrite or be mistaken for the first. While a run is in its folder it
holds the folder's lock (lock.py); holding it, it removes what its own killed predecessors left behind.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from ..config import ConfigError
from . import checkpoints
from .config import TrainCfg
from .lock import RunLock

# What only a run writes: a folder with any of these holds a run.
RUN_MARKERS = ("config.json", "checkpoints", "model.safetensors", "summary.json")


def default_run_dir(cfg: TrainCfg) -> Path:
    return Path("runs") / f"{time.strftime('%Y%m%d-%H%M%S')}-{cfg.model}-{cfg.data}"


def run_of(ckpt: Path) -> Path | None:
    """The run folder a checkpoint belongs to (RUN/checkpoints/step-N), if it is in one."""
    return ckpt.parent.parent if ckpt.parent.name == "checkpoints" else None


def find_resume(resume: str | None, output: Path | None) -> Path | None:
    """The checkpoint to continue from: `--resume auto` is the newest in --output (None when it has none yet:
    start from scratch), any other value a checkpoint or run directory."""
    if resume is None:
        return None
    if resume == "auto":
        if output is None:
            raise ConfigError("--resume auto needs --output (the run directory to continue)")
        return checkpoints.newest_checkpoint(output / "checkpoints")
    return checkpoints.find_checkpoint(Path(resume))


def check_output(output: Path | None) -> None:
    if output is not None and output.exists() and not output.is_dir():
        raise ConfigError(f"--output {output} is an existing file; expected a run directory")


def check_free(run_dir: Path, continuing: bool) -> None:
    """Refuse a new run in a folder that holds another run (finished, running or killed)."""
    found = [name for name in RUN_MARKERS if (run_dir / name).exists()]
    if found and not continuing:
        raise ConfigError(
            f"{run_dir} holds another run ({', '.join(found)}); continue it with --resume auto, "
            f"or choose another --output"
        )


class RunFolder:
    """Entered: the folder exists, is locked by this process, is free for this run and has no leftovers."""

    def __init__(self, run_dir: Path, continuing: bool) -> None:
        self.path, self.continuing = run_dir, continuing
        self.lock = RunLock(run_dir)
        self.created = False

    def __enter__(self) -> RunFolder:
        self.created = not self.path.exists()
        self.path.mkdir(parents=True, exist_ok=True)
        try:
            self.lock.acquire()
            check_free(self.path, self.continuing)
        except BaseException:
            self.lock.release()
            self.remove_if_new()
            raise
        for entry in checkpoints.remove_leftovers(self.path):
            print(f"tokenmix train: removed {entry}, left by a killed run", file=sys.stderr, flush=True)
        return self

    def __exit__(self, *exc) -> None:
        self.lock.release()

    def remove_if_new(self) -> None:
        """A start that failed (bad model, data set or checkpoint) leaves no empty run folder behind."""
        if self.created:
            self.lock.release()
            for entry in sorted(self.path.rglob("*"), reverse=True):
                entry.rmdir() if entry.is_dir() else entry.unlink()
            self.path.rmdir()
