"""A training run from what the command line gives (recipe, overrides, --output, --resume): plan it (config
and folder, reconciled with the checkpoint it continues), then execute it in its locked folder. The
`tokenmix train` command only parses and prints; torchrun's ranks all call execute."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import ConfigError
from . import checkpoints, report
from .config import TrainCfg, resolve, resumed
from .run_folder import RunFolder, check_output, default_run_dir, find_resume, run_of

if TYPE_CHECKING:  # the trainer imports torch, timm and the data sets: only when a run starts
    from .distributed import DistInfo
    from .signals import StopRequest
    from .trainer import Trainer


@dataclass(frozen=True)
class Plan:
    cfg: TrainCfg
    run_dir: Path | None  # None: a new folder under runs/, named when the run starts
    resume: Path | None  # the checkpoint to continue from
    continuing: bool  # the run continues the run already in run_dir


def plan(recipe: str, overrides: dict[str, Any], output: Path | None, resume: str | None) -> Plan:
    check_output(output)
    ckpt = find_resume(resume, output)
    if ckpt is None:
        return Plan(resolve(recipe, overrides), output, None, continuing=resume == "auto")
    # the whole checkpoint is checked before any data is read (and state.pt read again by the trainer)
    _, info = checkpoints.load_state(ckpt)
    cfg = resumed(info.config, overrides, ckpt / "state.json")
    home = run_of(ckpt)
    run_dir = output or home
    same = home is not None and run_dir is not None and home.resolve() == run_dir.resolve()
    return Plan(cfg, run_dir, ckpt, continuing=same)


def execute(plan: Plan) -> tuple[dict[str, Any] | None, Path]:
    """Train in the plan's folder (this process one rank of torchrun's group, or the only one); returns the
    summary (rank 0; None on the others) and the folder. Raises NonFiniteLoss (exit 3), signals.Interrupted
    (exit 128 + the signal) or a user error (exit 2)."""
    from .distributed import broadcast_object, init_distributed, shutdown
    from .signals import StopRequest

    dist = init_distributed(plan.cfg.device, plan.cfg.collective_timeout)
    try:
        run_dir = Path(broadcast_object(str(plan.run_dir or default_run_dir(plan.cfg)), dist))
        # a signal from here on stops the run after its next step
        with _entered(RunFolder(run_dir, plan.continuing), dist) as folder, StopRequest() as stop:
            summary = _start(plan, folder, dist, stop).fit()
        return (summary if dist.is_main else None), run_dir
    finally:
        shutdown(dist)


@contextmanager
def _entered(folder: RunFolder, dist: DistInfo) -> Iterator[RunFolder]:
    """Rank 0 enters the folder (lock, checks, leftovers); when it refuses, every rank raises the refusal."""
    from .distributed import broadcast_object

    error: Exception | None = None
    if dist.is_main:
        try:
            folder.__enter__()
        except ValueError as e:
            error = e
    refusal = broadcast_object(None if error is None else str(error), dist)
    if error is not None:
        raise error
    if refusal is not None:
        raise ConfigError(refusal)
    try:
        yield folder
    finally:
        if dist.is_main:
            folder.__exit__(None, None, None)


def _start(plan: Plan, folder: RunFolder, dist: DistInfo, stop: StopRequest) -> Trainer:
    from .trainer import Trainer

    cfg = plan.cfg
    try:
        trainer = Trainer(cfg, folder.path, dist, plan.resume, stop)
    except BaseException:
        if dist.is_main:
            folder.remove_if_new()
        raise
    if dist.is_main:  # after a successful start: a failed one leaves the folder free for the next try
        report.write_text(folder.path / "config.json", cfg.to_json() + "\n")
        print(report.start_line(cfg, trainer.data, dist.world, dist.device.type, folder.path), flush=True)
    return trainer
