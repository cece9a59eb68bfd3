"""`tokenmix predict` rebuilds the model a training run stored (channels, input size, classes, class names,
normalisation): its probabilities on an image file equal the model's on the same pixels normalised as
`tokenmix eval` does. Bad inputs are one line and exit 2."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

import tokenmix
from tokenmix.checkpoint import read_metadata
from tokenmix.data import load_arrays
from tokenmix.data.augment import normalize

from ..train.util import in_process, last_line
from .conftest import CLASSES


def parse(out: str) -> list[list[tuple[str, str]]]:
    """Per image: [(probability text, class name), ...] as printed."""
    blocks = []
    for line in out.splitlines():
        if not line.startswith("  "):
            blocks.append([])
        else:
            prob, name = line.split(maxsplit=1)
            blocks[-1].append((prob, name))
    return blocks


@torch.no_grad()
def expected(name: str, weights, images: np.ndarray, top: int) -> list[list[tuple[str, str]]]:
    """The same model, built by hand from the training run's facts, on uint8 (N, C, H, W) pixels."""
    meta = read_metadata(weights)
    cfg = meta["config"]
    model = tokenmix.create_model(
        name,
        checkpoint_path=weights,
        num_classes=cfg["num_classes"],
        in_chans=cfg["in_chans"],
        img_size=cfg["img_size"],
    ).eval()
    probs = model(normalize(torch.from_numpy(images), meta["mean"], meta["std"])).softmax(-1)
    names = meta["classes"]
    out = []
    for p in probs:
        values, indices = p.topk(top)
        out.append([(f"{v:.2%}", names[i]) for v, i in zip(values.tolist(), indices.tolist(), strict=True)])
    return out


def test_predict_runs_the_readme_digits_model_on_8x8_grey_images(digits_run, tmp_path, capsys):
    x = load_arrays("digits").x_test[:3].numpy()  # (3, 1, 8, 8) uint8
    paths = []
    for i, image in enumerate(x):
        paths.append(tmp_path / f"digit{i}.png")
        Image.fromarray(image[0]).save(paths[-1])
    weights = digits_run / "model.safetensors"
    code, out, err = in_process(capsys, "predict", "convmixer_digits", "--checkpoint", weights, *paths, "--top", "3")
    assert code == 0, err
    assert parse(out) == expected("convmixer_digits", weights, x, top=3)


def test_predict_uses_the_stored_size_and_class_names_of_a_mixer_trained_on_28x28(
    mixer28_run, grey28_npz, tmp_path, capsys
):
    x = np.load(grey28_npz)["x_test"][:4][:, None]  # (4, 1, 28, 28)
    paths = []
    for i, image in enumerate(x):
        paths.append(tmp_path / f"img{i}.png")
        Image.fromarray(image[0]).save(paths[-1])
    weights = mixer28_run / "model.safetensors"
    code, out, err = in_process(capsys, "predict", "mixer_digits", "--checkpoint", weights, *paths)
    assert code == 0, err
    got = parse(out)
    assert got == expected("mixer_digits", weights, x, top=3)
    assert {name for block in got for _, name in block} == set(CLASSES)


def test_a_given_flag_overrides_the_stored_value(mixer28_run, tmp_path, capsys):
    Image.new("L", (28, 28)).save(tmp_path / "a.png")
    weights = mixer28_run / "model.safetensors"
    code, _, err = in_process(capsys, "predict", "mixer_digits", "--checkpoint", weights, tmp_path / "a.png",
                              "--num-classes", "5")  # fmt: skip
    # create_model starts a new classifier for another class count (fine-tuning); predicting with it is refused
    assert code == 2 and "the checkpoint names 3 classes, the model has 5" in last_line(err)
    (tmp_path / "names.txt").write_text("x\ny\nz\n")
    code, out, err = in_process(capsys, "predict", "mixer_digits", "--checkpoint", weights, tmp_path / "a.png",
                                "--classes", tmp_path / "names.txt")  # fmt: skip
    assert code == 0, err
    assert {name for _, name in parse(out)[0]} == {"x", "y", "z"}


def png_header(path, width: int, height: int):
    """A PNG that declares width x height grey pixels: enough for PIL to size it, without the pixels."""
    chunk = lambda kind, data: struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00")) + chunk(b"IEND", b"")
    )
    return path


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--top", "-1"], "--top must be at least 1, got -1"),
        (["--top", "0"], "--top must be at least 1, got 0"),
        (["--in-chans", "2"], "--in-chans must be 1 or 3, got 2"),
    ],
)
def test_bad_flags_are_one_line_and_exit_2(digits_run, tmp_path, capsys, args, needle):
    Image.new("L", (8, 8)).save(tmp_path / "a.png")
    weights = digits_run / "model.safetensors"
    code, _, err = in_process(capsys, "predict", "convmixer_digits", "--checkpoint", weights, tmp_path / "a.png", *args)
    assert code == 2 and "Traceback" not in err
    assert last_line(err) == f"tokenmix predict: error: {needle}"


def test_a_20000x20000_png_is_refused_as_too_large(digits_run, tmp_path, capsys):
    bomb = png_header(tmp_path / "huge.png", 20000, 20000)
    weights = digits_run / "model.safetensors"
    code, _, err = in_process(capsys, "predict", "convmixer_digits", "--checkpoint", weights, bomb)
    assert code == 2 and "Traceback" not in err
    limit = "is too large to decode safely: Image size (400000000 pixels) exceeds limit of 178956970 pixels"
    assert "huge.png" in last_line(err) and limit in last_line(err)
