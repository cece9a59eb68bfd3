"""A training run from what the command line gives (recipe, overrides, --output, --resume): plan it (config
and folder, reconciled with the checkpoint it continues), then execute it in its locked folder. The
`tokenmix train` command only parses and prints; torchrun's ranks all call execute."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import checkpoints, report
from .config import TrainCfg, resolve, resumed
from .run_folder import RunFolder, check_output, default_run_dir, find_resume, run_of


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
    from .trainer import Trainer

    cfg = plan.cfg
    dist = init_distributed(cfg.device, cfg.collective_timeout)
    try:
        run_dir = Path(broadcast_object(str(plan.run_dir or default_run_dir(cfg)), dist))
        folder = RunFolder(run_dir, plan.continuing)
        error = _on_main(dist, folder.__enter__)
        if error is not None:
            raise error
        try:
            with StopRequest() as stop:  # a signal from here on stops the run after its next step
                try:
                    trainer = Trainer(cfg, run_dir, dist, plan.resume, stop)
                except BaseException:
                    if dist.is_main:
                        folder.remove_if_new()
                    raise
                if dist.is_main:  # after a successful start: a failed one leaves the folder free for the next try
                    report.write_text(run_dir / "config.json", cfg.to_json() + "\n")
                    print(report.start_line(cfg, trainer.data, dist.world, dist.device.type, run_dir), flush=True)
                summary = trainer.fit()
            return (summary if dist.is_main else None), run_dir
        finally:
            if dist.is_main:
                folder.__exit__(None, None, None)
    finally:
        shutdown(dist)


def _on_main(dist, action) -> Exception | None:
    """Run `action` on rank 0 only; every rank gets its error (as the same exception type and message)."""
    from .distributed import broadcast_object

    error = None
    if dist.is_main:
        try:
            action()
        except Exception as e:
            error = e
    if not dist.enabled:
        return error
    message = broadcast_object(None if error is None else (type(error).__name__, str(error)), dist)
    if message is None or error is not None:
        return error
    from ..config import ConfigError

    return ConfigError(message[1])
