"""An image folder with a corrupt file trains to the end: the file is reported and skipped, not a crash."""

from __future__ import annotations

import numpy as np
from PIL import Image

from .util import tokenmix


def make_folder(root, per_class: int = 12):
    rng = np.random.default_rng(0)
    for split in ("train", "val"):
        for label, cls in enumerate(("dark", "light")):
            d = root / split / cls
            d.mkdir(parents=True)
            for i in range(per_class):
                pixels = rng.integers(0, 100, (12, 12, 3)) + 150 * label
                Image.fromarray(pixels.astype(np.uint8)).save(d / f"{i}.png")
    good = (root / "train" / "dark" / "0.png").read_bytes()
    (root / "train" / "dark" / "truncated.png").write_bytes(good[: len(good) // 2])  # header parses, decode fails
    (root / "train" / "light" / "not_an_image.jpg").write_bytes(b"hello")
    return root


def test_corrupt_images_are_skipped_and_reported(tmp_path):
    root = make_folder(tmp_path / "images")
    done = tokenmix(
        "train",
        "--data",
        "imagefolder",
        "--data-dir",
        root,
        "--model",
        "convmixer_digits",
        "--img-size",
        "8",
        "--batch-size",
        "8",
        "--epochs",
        "2",
        "--set",
        "normalize=model",
        "--set",
        "hflip=0.5",
        "--output",
        tmp_path / "run",
    )
    assert done.returncode == 0, done.stderr
    assert "skipped 2 unreadable image(s)" in done.stderr
    assert "truncated.png" in done.stderr and "not_an_image.jpg" in done.stderr
    assert "test accuracy" in done.stdout
