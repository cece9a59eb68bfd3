"""Where a run reports its numbers besides metrics.csv: TensorBoard (the default), Weights & Biases and MLflow,
each through its own library when it is installed (without it, one line says so and the run goes on).

Every tracker answers the same four calls: `step` (one optimizer step's loss and learning rate), `row` (a
metrics row under grouped tags), `hparams` (the config fields runs are compared by, with the final metrics) and
`close`. A resumed run reports to the same tracker run as before (W&B and MLflow runs are found again by the id
stored in the run folder) and keeps the points up to its checkpoint's step: what a killed run logged after it
is replaced (TensorBoard) or kept, since a resumed run repeats those steps bit-identically (W&B, MLflow).

    trackers = open_trackers("tb,wandb", run_dir, resumed_at=None, tags=IMAGE_TAGS)

W&B reads its usual environment (WANDB_PROJECT, default "tokenmix"; WANDB_MODE=offline on a machine without
network, then `wandb sync`); MLflow reads MLFLOW_TRACKING_URI and MLFLOW_EXPERIMENT_NAME.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from ..config import ConfigError

# metrics.csv columns as tags, grouped so that each panel compares like with like
IMAGE_TAGS = {
    "train_loss": "loss/train",
    "test_loss": "loss/test",
    "train_top1": "top1/train",
    "test_top1": "top1/test",
    "ema_top1": "top1/test_ema",
    "test_top5": "top5/test",
    "lr": "opt/lr",
    "images_per_s": "speed/images_per_s",
    "wall_s": "time/wall_s",
}


def _missing(what: str, extra: str) -> None:
    print(f"note: {what} is not installed, so this run does not report to it (pip install {extra})", flush=True)


def _scalars(row: dict[str, Any], tags: dict[str, str]) -> dict[str, float]:
    return {tag: float(row[key]) for key, tag in tags.items() if isinstance(row.get(key), (int, float))}


def _stored_id(run_dir: Path, name: str) -> str | None:
    path = run_dir / name
    if not path.is_file():
        return None
    return path.read_text().strip() or None


class TensorBoard:
    """Events in run/tb (the `tb` extra): every optimizer step's loss and learning rate, each metrics row under
    grouped tags, and the run's hyper-parameters with its final metrics (the HPARAMS tab)."""

    def __init__(self, log_dir: Path, resumed_at: int | None, tags: dict[str, str] | None = None) -> None:
        self.tags = IMAGE_TAGS if tags is None else tags
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            self.writer = None
            _missing("tensorboard", "'tokenmix[tb]'")
            return
        # a resumed run drops what a killed run wrote after its last checkpoint (at step resumed_at) and keeps
        # that step's own points
        purge = None if resumed_at is None else resumed_at + 1
        self.writer = SummaryWriter(str(log_dir), purge_step=purge)

    def step(self, step: int, loss: float, lr: float) -> None:
        if self.writer is not None:
            self.writer.add_scalar("step/train_loss", loss, step)
            self.writer.add_scalar("step/lr", lr, step)

    def row(self, row: dict[str, Any], step: int) -> None:
        if self.writer is None:
            return
        for tag, value in _scalars(row, self.tags).items():
            self.writer.add_scalar(tag, value, step)
        self.writer.flush()

    def hparams(self, values: dict[str, Any], metrics: dict[str, float | None]) -> None:
        if self.writer is None:
            return
        metrics = {f"final/{k}": v for k, v in metrics.items() if v is not None}
        values = {k: "none" if v is None else v for k, v in values.items()}  # TensorBoard has no null
        self.writer.add_hparams(values, metrics, run_name="hparams")

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


class WandB:
    """A W&B run named after the run folder, its id in run/wandb_id; W&B's files in run/wandb/."""

    def __init__(self, run_dir: Path, resumed_at: int | None, tags: dict[str, str] | None = None) -> None:
        self.tags = IMAGE_TAGS if tags is None else tags
        try:
            import wandb
        except ImportError:
            self.run = None
            _missing("wandb", "'tokenmix[wandb]'")
            return
        project = os.environ.get("WANDB_PROJECT", "tokenmix")
        # W&B refuses steps below its last one, so a resumed run's repeats of logged steps are dropped: they
        # are the same numbers (bit-identical resume)
        self.run = wandb.init(project=project, name=run_dir.name, id=_stored_id(run_dir, "wandb_id"),
                              resume="allow", dir=str(run_dir))  # fmt: skip
        (run_dir / "wandb_id").write_text(self.run.id + "\n")

    def step(self, step: int, loss: float, lr: float) -> None:
        if self.run is not None:
            self.run.log({"step/train_loss": loss, "step/lr": lr}, step=step)

    def row(self, row: dict[str, Any], step: int) -> None:
        if self.run is not None:
            self.run.log(_scalars(row, self.tags), step=step)

    def hparams(self, values: dict[str, Any], metrics: dict[str, float | None]) -> None:
        if self.run is not None:
            self.run.config.update(values, allow_val_change=True)
            self.run.summary.update({f"final/{k}": v for k, v in metrics.items() if v is not None})

    def close(self) -> None:
        if self.run is not None:
            self.run.finish()


class MLflow:
    """An MLflow run named after the run folder, its id in run/mlflow_id, wherever MLFLOW_TRACKING_URI points."""

    def __init__(self, run_dir: Path, resumed_at: int | None, tags: dict[str, str] | None = None) -> None:
        self.tags = IMAGE_TAGS if tags is None else tags
        try:
            from mlflow.tracking import MlflowClient
        except ImportError:
            self.client = None
            _missing("mlflow", "'tokenmix[mlflow]'")
            return
        self.client = MlflowClient()
        run_id = _stored_id(run_dir, "mlflow_id")
        if run_id is None:
            self.run_id = self.client.create_run(self._experiment_id(), run_name=run_dir.name).info.run_id
            (run_dir / "mlflow_id").write_text(self.run_id + "\n")
        else:
            self.run_id = run_id
            self.client.update_run(run_id, status="RUNNING")
        # MLflow keeps every value it is sent: skip the steps a killed run already logged (the same numbers)
        logged = self.client.get_metric_history(self.run_id, "step/train_loss") if run_id else []
        self.logged_up_to = max((m.step for m in logged), default=0)

    def _experiment_id(self) -> str:
        name = os.environ.get("MLFLOW_EXPERIMENT_NAME", "tokenmix")
        found = self.client.get_experiment_by_name(name)
        return found.experiment_id if found is not None else self.client.create_experiment(name)

    def _log(self, values: dict[str, float], step: int) -> None:
        from mlflow.entities import Metric

        if step > self.logged_up_to:
            stamp = _now_ms()
            metrics = [Metric(key, value, stamp, step) for key, value in values.items()]
            self.client.log_batch(self.run_id, metrics=metrics, synchronous=True)

    def step(self, step: int, loss: float, lr: float) -> None:
        if self.client is not None:
            self._log({"step/train_loss": loss, "step/lr": lr}, step)

    def row(self, row: dict[str, Any], step: int) -> None:
        if self.client is not None:
            self._log(_scalars(row, self.tags), step)

    def hparams(self, values: dict[str, Any], metrics: dict[str, float | None]) -> None:
        if self.client is None:
            return
        from mlflow.entities import Metric, Param

        params = [Param(k, str(v)) for k, v in values.items()]
        finals = [Metric(f"final/{k}", v, _now_ms(), 0) for k, v in metrics.items() if v is not None]
        self.client.log_batch(self.run_id, metrics=finals, params=params, synchronous=True)

    def close(self) -> None:
        if self.client is not None:
            self.client.set_terminated(self.run_id)


def _now_ms() -> int:
    return int(time.time() * 1000)


class Trackers:
    """The trackers of one run, called together."""

    def __init__(self, trackers: list[Any]) -> None:
        self.trackers = trackers

    def step(self, step: int, loss: float, lr: float) -> None:
        for t in self.trackers:
            t.step(step, loss, lr)

    def row(self, row: dict[str, Any], step: int) -> None:
        for t in self.trackers:
            t.row(row, step)

    def hparams(self, values: dict[str, Any], metrics: dict[str, float | None]) -> None:
        for t in self.trackers:
            t.hparams(values, metrics)

    def close(self) -> None:
        for t in self.trackers:
            t.close()


def parse_names(names: str) -> tuple[str, ...]:
    """ "tb,wandb" as ("tb", "wandb"); "none" or "" as (); anything else is a ConfigError naming it."""
    picked = tuple(n.strip() for n in names.split(",") if n.strip() and n.strip() != "none")
    if any(n not in OPEN for n in picked):
        raise ConfigError(f"trackers: expected a comma list of {', '.join(OPEN)} (or none), got {names!r}")
    return picked


OPEN = {
    "tb": lambda run_dir, resumed_at, tags: TensorBoard(run_dir / "tb", resumed_at, tags),
    "wandb": WandB,
    "mlflow": MLflow,
}


def open_trackers(names: str, run_dir: Path, resumed_at: int | None, tags: dict[str, str] | None = None) -> Trackers:
    return Trackers([OPEN[name](run_dir, resumed_at, tags) for name in parse_names(names)])
