"""Every user mistake is one line on stderr naming the problem, and exit code 2 (3 for a non-finite loss);
never a traceback. Runs in-process where the command fails before training starts."""

from __future__ import annotations

import numpy as np
import pytest

from .util import in_process, last_line, tokenmix


def assert_one_line_error(code: int, err: str, expected_code: int, *needles: str) -> None:
    assert code == expected_code, err
    assert "Traceback" not in err
    line = last_line(err)
    assert line.startswith("tokenmix train: error: "), err
    for needle in needles:
        assert needle in line, line


def write_npz(path, x_train, x_test=None, **extra):
    x_test = x_train if x_test is None else x_test
    y = lambda x: np.arange(len(x)) % 2
    np.savez(path, x_train=x_train, y_train=y(x_train), x_test=x_test, y_test=y(x_test), **extra)
    return path


@pytest.mark.parametrize(
    "args, needles",
    [
        (["--data", "imagenet"], ["unknown data set 'imagenet'", "digits"]),
        (["--model", "convmixr_digits"], ["unknown model", "did you mean convmixer_digits"]),
        (
            ["--data", "npz", "--data-dir", "/nonexistent/data.npz"],
            ["/nonexistent/data.npz", "does not exist"],
        ),
        (["--data", "fashion_mnist", "--data-dir", "/nonexistent"], ["fashion_mnist", "/nonexistent"]),
        (["--data", "cifar10", "--data-dir", "/nonexistent"], ["cifar-10-batches-py", "does not exist"]),
        (["--data", "imagefolder", "--data-dir", "/nonexistent"], ["/nonexistent", "does not exist"]),
        (["--set", "in_chans=3"], ["expected 3-channel images", "digits has 1"]),
        (["--lr", "fast"], ["lr: expected float", "'fast'"]),
        (["--set", "epochs=-1"], ["epochs must be >= 1"]),
        (["--opt", "adamm"], ["opt must be adamw, sgd or a timm optimizer", "'adamm'"]),
        (["--set", "drop_path=1.5"], ["drop_path must be in [0, 1)"]),
        (["--set", "lrr=0.1"], ["unknown config key 'lrr'", "did you mean lr"]),
        (["--set", "lr"], ["--set expects KEY=VALUE"]),
        (["--recipe", "imagenet"], ["unknown recipe 'imagenet'", "small"]),
        (["--batch-size", "5000"], ["1437 training images are fewer than the batch size 5000"]),
        (["--set", "ema_decay=1.5"], ["ema_decay must be in [0, 1), got 1.5"]),
        (["--lr", "1e-6"], ["min_lr 1e-05 is above the peak lr 1e-06"]),
        (["--set", "eval_translate=-1"], ["eval_translate must be a finite number >= 0, got -1"]),
        (["--set", "eval_translate=8"], ["eval_translate must be below the image size 8, got 8"]),
        (["--set", "collective_timeout=0"], ["collective_timeout must be a finite number of seconds > 0"]),
    ],
)
def test_bad_input_is_one_line_and_exit_2(capsys, tmp_path, monkeypatch, args, needles):
    monkeypatch.chdir(tmp_path)  # the default run folder is ./runs/...
    code, _, err = in_process(capsys, "train", *args)
    assert_one_line_error(code, err, 2, *needles)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())  # no debris of a failed start


def test_output_naming_an_existing_file_is_refused(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    code, _, err = in_process(capsys, "train", "--output", tmp_path / "notes.txt")
    assert_one_line_error(code, err, 2, f"--output {tmp_path / 'notes.txt'} is an existing file")
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_npz_with_two_channel_images_is_refused(tmp_path, capsys):
    path = write_npz(tmp_path / "two.npz", np.zeros((8, 4, 4, 2), np.uint8))
    code, _, err = in_process(capsys, "train", "--data", "npz", "--data-dir", path)
    assert_one_line_error(code, err, 2, "C in (1, 3)", "(8, 4, 4, 2)")


def test_empty_npz_data_set_is_refused(tmp_path, capsys):
    path = write_npz(tmp_path / "empty.npz", np.zeros((0, 4, 4, 3), np.uint8))
    code, _, err = in_process(capsys, "train", "--data", "npz", "--data-dir", path)
    assert_one_line_error(code, err, 2, "x_train is empty")


def test_npz_with_pickled_objects_is_refused(tmp_path, capsys):
    path = write_npz(tmp_path / "obj.npz", np.zeros((4, 4, 4, 3), np.uint8), classes=np.array([{"a": 1}], dtype=object))
    code, _, err = in_process(capsys, "train", "--data", "npz", "--data-dir", path)
    assert_one_line_error(code, err, 2, "pickled object arrays")


def test_empty_image_folder_is_refused(tmp_path, capsys):
    for split in ("train", "val"):
        for cls in ("cat", "dog"):
            (tmp_path / split / cls).mkdir(parents=True)
    code, _, err = in_process(capsys, "train", "--data", "imagefolder", "--data-dir", tmp_path)
    assert_one_line_error(code, err, 2, "is empty")


def test_nan_loss_stops_with_exit_3_naming_the_step(tmp_path):
    done = tokenmix("train", "--model", "mixer_digits", "--output", tmp_path / "run", TOKENMIX_TEST_NAN_AT_STEP="5")
    assert_one_line_error(done.returncode, done.stderr, 3, "non-finite loss at step 5", "no update was made")
    assert not (tmp_path / "run" / "model.safetensors").exists()


def test_huge_learning_rate_stops_with_exit_3(tmp_path):
    done = tokenmix(
        "train",
        "--model",
        "mixer_digits",
        "--lr",
        "1e30",
        "--set",
        "warmup_epochs=0",
        "--output",
        tmp_path / "run",
    )
    assert_one_line_error(done.returncode, done.stderr, 3, "non-finite loss at step")
