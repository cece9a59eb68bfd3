"""TensorBoard events: a per-step loss and learning rate for every optimizer step, the epoch rows under grouped
tags, the run's hyper-parameters; a resumed run keeps the resume step's points and drops what a killed run wrote
after it (read back with tensorboard's own EventAccumulator)."""

from __future__ import annotations

import sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from tokenmix.train.trackers import TensorBoard

from .util import tokenmix


def _scalars(log_dir) -> dict[str, list[tuple[int, float]]]:
    events = EventAccumulator(str(log_dir))
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}


def test_a_run_logs_every_step_grouped_epoch_tags_and_hparams(tmp_path):
    run = tmp_path / "run"
    done = tokenmix("train", "--model", "mixer_digits", "--epochs", "2", "--output", run)
    assert done.returncode == 0, done.stderr
    scalars = _scalars(run / "tb")
    steps_per_epoch = 1437 // 64
    assert [s for s, _ in scalars["step/train_loss"]] == list(range(1, 2 * steps_per_epoch + 1))
    assert [s for s, _ in scalars["loss/test"]] == [steps_per_epoch, 2 * steps_per_epoch]
    assert {"top1/train", "top1/test", "opt/lr", "speed/images_per_s", "time/wall_s"} <= set(scalars)
    assert scalars["step/lr"][0][1] < scalars["step/lr"][steps_per_epoch][1]  # warm-up rises
    assert (run / "tb" / "hparams").is_dir()


def test_resume_keeps_the_checkpoint_steps_points_and_drops_later_ones(tmp_path):
    first = TensorBoard(tmp_path, resumed_at=None)
    for step in range(1, 11):  # a run killed after step 10, its last checkpoint at step 6
        first.step(step, loss=1.0, lr=0.1)
    first.row({"test_top1": 50.0}, 6)
    first.close()
    second = TensorBoard(tmp_path, resumed_at=6)
    for step in (7, 8):
        second.step(step, loss=2.0, lr=0.1)
    second.close()
    scalars = _scalars(tmp_path)
    assert scalars["step/train_loss"] == [(s, 1.0) for s in range(1, 7)] + [(7, 2.0), (8, 2.0)]
    assert scalars["top1/test"] == [(6, 50.0)]


def test_hparams_without_a_final_accuracy_still_writes(tmp_path):
    board = TensorBoard(tmp_path, resumed_at=None)
    board.hparams({"model": "m", "lr": 0.1, "token_weights": None}, {"top1": None, "loss": 1.5})
    board.close()
    assert (tmp_path / "hparams").is_dir()


def test_without_tensorboard_one_line_says_so_and_nothing_is_written(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import now fails
    board = TensorBoard(tmp_path / "tb", resumed_at=None)
    board.step(1, 1.0, 0.1)
    board.row({"test_top1": 1.0}, 1)
    board.close()
    assert "tensorboard is not installed" in capsys.readouterr().out
    assert not (tmp_path / "tb").exists()
