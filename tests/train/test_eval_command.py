"""`tokenmix eval` on a trained checkpoint: JSON with top-1/top-5/loss/per-class accuracy, a confusion PNG;
its top-1 equals the final top-1 the training run reported on the same test set, with or without the test-time
augmentations."""

from __future__ import annotations

import json

from .util import in_process


def test_eval_reports_the_training_runs_accuracy_and_writes_a_confusion_png(finished_run, tmp_path, capsys):
    code, out, err = in_process(
        capsys,
        "eval",
        "mixer_digits",
        "--checkpoint",
        finished_run / "model.safetensors",
        "--data",
        "digits",
        "--output",
        tmp_path / "eval",
    )
    assert code == 0, err
    result = json.loads(out)
    summary = json.loads((finished_run / "summary.json").read_text())
    assert result["images"] == 360
    assert abs(result["top1"] - summary["final_top1"]) < 1e-9
    assert abs(result["loss"] - summary["final_loss"]) < 1e-5
    assert result["top5"] >= result["top1"]
    assert set(result["per_class_top1"]) == {str(i) for i in range(10)}
    assert sum(map(sum, result["confusion"])) == 360
    png = (tmp_path / "eval" / "confusion.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((tmp_path / "eval" / "eval.json").read_text())["top1"] == result["top1"]


def test_eval_runs_in_the_checkpoints_amp_and_can_average_mirror_images(finished_run, capsys):
    """The stored amp (this run trained in full precision) is eval's default; --amp bf16 and --hflip change
    what is computed, so the loss moves while the images counted stay the same."""
    args = ("eval", "mixer_digits", "--checkpoint", finished_run / "model.safetensors", "--data", "digits")
    plain = json.loads(in_process(capsys, *args)[1])
    bf16 = json.loads(in_process(capsys, *args, "--amp", "bf16")[1])
    mirrored = json.loads(in_process(capsys, *args, "--hflip")[1])
    assert (plain["amp"], bf16["amp"], mirrored["hflip"]) == ("none", "bf16", True)
    assert plain["images"] == bf16["images"] == mirrored["images"] == 360
    assert abs(bf16["loss"] - plain["loss"]) < 0.05 * plain["loss"]  # bf16 rounding only
    assert bf16["loss"] != plain["loss"] and mirrored["loss"] != plain["loss"]
    shifted = json.loads(in_process(capsys, *args, "--hflip", "--translate", "1")[1])
    assert shifted["translate"] == 1 and shifted["images"] == 360 and shifted["loss"] != mirrored["loss"]
    code, _, err = in_process(capsys, *args, "--translate", "8")  # digits are 8x8: no 8-pixel reflection
    assert code == 2 and err.strip().splitlines()[-1].endswith("--translate must be below the image size 8, got 8")


def test_eval_translate_changes_only_the_final_evaluation(tmp_path):
    """Two deterministic two-epoch runs, one with eval_translate: the same weights throughout, the same epoch-1
    test loss, another final one (the shifted views are evaluated at the end only)."""
    import csv

    from .util import tokenmix, weights

    runs = {}
    for name, extra in (("plain", ()), ("shifted", ("--set", "eval_translate=1"))):
        run = tmp_path / name
        done = tokenmix("train", "--model", "mixer_digits", "--epochs", "2", "--output", run, *extra)
        assert done.returncode == 0, done.stderr
        runs[name] = (list(csv.DictReader((run / "metrics.csv").open())), weights(run / "model.safetensors"))
    (plain, plain_w), (shifted, shifted_w) = runs["plain"], runs["shifted"]
    assert all((plain_w[k] == shifted_w[k]).all() for k in plain_w)
    assert plain[0]["test_loss"] == shifted[0]["test_loss"]
    assert plain[1]["test_loss"] != shifted[1]["test_loss"]
    # and the final one is what `tokenmix eval --translate` computes from the saved weights
    checkpoint = tmp_path / "shifted" / "model.safetensors"
    done = tokenmix("eval", "mixer_digits", "--checkpoint", checkpoint, "--data", "digits", "--translate", "1")
    assert done.returncode == 0, done.stderr
    assert abs(json.loads(done.stdout)["loss"] - float(shifted[1]["test_loss"])) < 1e-5
