"""W&B and MLflow beside TensorBoard, through their own libraries (W&B offline, MLflow on a file store): a run
reports every step and epoch row, its parameters and final metrics; a resumed run reports to the same tracker
run and does not log a step twice; a missing library is one line, an unknown tracker a clear refusal. MLflow is
read back with its own client."""

from __future__ import annotations

import csv
import sys

import pytest
from mlflow.tracking import MlflowClient

from tokenmix.train.trackers import MLflow, WandB

from .util import in_process, tokenmix


@pytest.fixture
def offline(tmp_path, monkeypatch):
    settings = dict(WANDB_MODE="offline", WANDB_SILENT="true", MLFLOW_TRACKING_URI=f"file:{tmp_path / 'mlruns'}",
                    MLFLOW_ALLOW_FILE_STORE="true", MLFLOW_EXPERIMENT_NAME="tests")  # fmt: skip
    for key, value in settings.items():
        monkeypatch.setenv(key, value)
    return settings


def _history(run_id: str, key: str) -> list[tuple[int, float]]:
    return [(m.step, m.value) for m in MlflowClient().get_metric_history(run_id, key)]


def test_a_run_reports_steps_rows_and_params_to_wandb_and_mlflow(tmp_path, offline):
    run = tmp_path / "run"
    done = tokenmix("train", "--model", "mixer_digits", "--epochs", "1", "--set", "trackers=tb,wandb,mlflow",
                    "--output", run, **offline)  # fmt: skip
    assert done.returncode == 0, done.stderr
    steps = 1437 // 64
    run_id = (run / "mlflow_id").read_text().strip()
    assert [s for s, _ in _history(run_id, "step/train_loss")] == list(range(1, steps + 1))
    with open(run / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    ((step, top1),) = _history(run_id, "top1/test")
    assert step == steps and top1 == pytest.approx(float(rows[-1]["test_top1"]), abs=1e-3)  # csv: 6 digits
    finished = MlflowClient().get_run(run_id)
    assert finished.info.status == "FINISHED" and finished.info.run_name == "run"
    assert finished.data.params["model"] == "mixer_digits" and float(finished.data.params["epochs"]) == 1
    assert finished.data.metrics["final/top1"] == top1
    wandb_id = (run / "wandb_id").read_text().strip()
    (events,) = (run / "wandb").glob(f"offline-run-*-{wandb_id}/run-{wandb_id}.wandb")
    assert events.stat().st_size > 0
    assert any((run / "tb").iterdir())


def test_a_resumed_mlflow_run_continues_the_same_run_without_repeating_a_step(tmp_path, offline):
    first = MLflow(tmp_path, resumed_at=None)
    for step in range(1, 11):  # killed after step 10, its last checkpoint at step 6
        first.step(step, loss=1.0, lr=0.1)
    first.close()
    second = MLflow(tmp_path, resumed_at=6)
    for step in range(7, 13):  # the resumed run repeats steps 7-10, then goes on
        second.step(step, loss=2.0, lr=0.1)
    second.close()
    assert second.run_id == first.run_id
    assert _history(first.run_id, "step/train_loss") == [(s, 1.0) for s in range(1, 11)] + [(11, 2.0), (12, 2.0)]


def test_a_resumed_wandb_run_keeps_its_id(tmp_path, offline):
    first = WandB(tmp_path, resumed_at=None)
    first.step(1, 1.0, 0.1)
    first.close()
    run_id = (tmp_path / "wandb_id").read_text().strip()
    second = WandB(tmp_path, resumed_at=1)
    second.step(2, 1.0, 0.1)
    second.close()
    assert (tmp_path / "wandb_id").read_text().strip() == run_id
    assert len(list((tmp_path / "wandb").glob(f"offline-run-*-{run_id}"))) >= 1
    assert second.run.id == run_id


def test_without_the_library_one_line_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "wandb", None)  # import now fails
    monkeypatch.setitem(sys.modules, "mlflow.tracking", None)
    for tracker in (WandB(tmp_path, None), MLflow(tmp_path, None)):
        tracker.step(1, 1.0, 0.1)
        tracker.row({"test_top1": 1.0}, 1)
        tracker.hparams({"lr": 0.1}, {"top1": 1.0})
        tracker.close()
    out = capsys.readouterr().out
    assert "wandb is not installed" in out and "mlflow is not installed" in out
    assert not (tmp_path / "wandb_id").exists() and not (tmp_path / "mlflow_id").exists()


def test_an_unknown_tracker_is_refused_before_training(tmp_path, capsys):
    code, out, err = in_process(capsys, "train", "--set", "trackers=tb,neptune", "--output", tmp_path / "run")
    assert code == 2
    assert "trackers: expected a comma list of tb, wandb, mlflow (or none), got 'tb,neptune'" in err
    assert not (tmp_path / "run").exists()
