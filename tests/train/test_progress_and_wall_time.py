"""What a run reports while it runs: plain progress lines when its output is a file or a pipe (no terminal),
and a wall clock (data loading, evaluation and checkpoints included) that continues over a resume."""

from __future__ import annotations

import csv
import json

from tokenmix.train.report import Progress
from tokenmix.train.state import RunState

from .util import tokenmix


def test_off_a_terminal_progress_is_a_plain_line_every_tenth_of_the_epoch(capsys):
    bar = Progress(epoch=0, epochs=3, steps=20, start=0, enabled=True)
    for step in range(20):
        bar.update(8, [2.0 * (step + 1), 4.0 * (step + 1), 8.0 * (step + 1)])
    bar.close()
    lines = capsys.readouterr().out.splitlines()
    # every 2 steps, but not at the epoch's end (the epoch line says that)
    assert [line.split("  ")[1] for line in lines] == [f"step {s}/20" for s in range(2, 20, 2)]
    assert lines[0].startswith("epoch 1/3  step 2/20  loss 0.2500  acc 50.0%  img/s ")


def test_progress_disabled_prints_nothing(capsys):
    bar = Progress(epoch=0, epochs=1, steps=20, start=0, enabled=False)
    for _ in range(20):
        bar.update(8, [1.0, 1.0, 8.0])
    bar.close()
    assert capsys.readouterr() == ("", "")


def test_a_checkpoint_without_wall_time_reads_as_zero(tmp_path):
    state = RunState(step=3).to_dict()
    del state["wall_time"]
    assert RunState.from_dict(state, tmp_path / "state.json").wall_time == 0.0


def _wall_column(run):
    with open(run / "metrics.csv") as f:
        return [(float(r["elapsed_s"]), float(r["wall_s"])) for r in csv.DictReader(f)]


def test_wall_time_covers_training_and_continues_over_a_resume(tmp_path):
    full = tmp_path / "full"
    done = tokenmix("train", "--model", "mixer_digits", "--epochs", "2", "--output", full)
    assert done.returncode == 0, done.stderr
    (train1, wall1), (train2, wall2) = _wall_column(full)
    summary = json.loads((full / "summary.json").read_text())
    assert 0 < train1 < wall1 < wall2 <= summary["wall_time_s"]  # evaluation and data loading are inside it

    epoch1 = min((full / "checkpoints").iterdir())  # step-N folders: the first epoch's
    resumed = tmp_path / "resumed"
    done = tokenmix("train", "--resume", epoch1, "--output", resumed)
    assert done.returncode == 0, done.stderr
    (r_train1, r_wall1), (r_train2, r_wall2) = _wall_column(resumed)
    assert (r_train1, r_wall1) == (train1, wall1)  # the first epoch's row comes from the checkpoint
    assert r_wall2 - r_wall1 > r_train2 - r_train1 > 0  # the second epoch's wall time includes its steps


def test_a_long_evaluation_prints_progress_lines_off_a_terminal(capsys):
    """EvalProgress off a terminal: a line once `every_s` has passed (0 here: at every batch but the last), with
    the images done out of the total; evaluate() reports each batch's images to it."""
    import torch
    from torch import nn

    from tokenmix.evaluate import evaluate
    from tokenmix.train.report import EvalProgress

    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 3))
    batches = [(torch.randn(n, 1, 2, 2), torch.zeros(n, dtype=torch.int64)) for n in (4, 4, 2)]
    progress = EvalProgress(10, enabled=True, every_s=0.0)
    counts = evaluate(model, batches, 3, torch.device("cpu"), progress=progress)
    progress.close()
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("evaluating")]
    assert counts.count == 10 == progress.done
    assert [line.split("  ")[1] for line in lines] == ["4/10 images", "8/10 images"]
