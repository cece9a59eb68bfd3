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


def _photos(root, side: tuple[int, int], n: int = 6):
    for split in ("train", "val"):
        for cls in ("a", "b"):
            (root / split / cls).mkdir(parents=True)
            for i in range(n):
                Image.new("RGB", side, (40 * i, 0, 0)).save(root / split / cls / f"{i}.png")
    return root


def test_small_photos_train_at_their_own_size_and_large_ones_at_the_models(tmp_path):
    """img_size unset: 48x40 photos give 40-px inputs (not 224: 31x the pixels of each image), 300x260 photos
    the model's 224; a corrupt file among them does not stop the probe."""
    from tokenmix.data.config import DataCfg
    from tokenmix.data.pipeline import open_data

    small = _photos(tmp_path / "small", (48, 40))
    (small / "train" / "a" / "junk.png").write_bytes(b"not an image")
    batches, info = open_data(DataCfg("imagefolder", str(small), model="poolformer_s12", batch_size=4))
    assert info.img_size == 40
    assert next(iter(batches.test_batches(4)))[0].shape[-2:] == (40, 40)
    large = _photos(tmp_path / "large", (300, 260))
    assert open_data(DataCfg("imagefolder", str(large), model="poolformer_s12", batch_size=4))[1].img_size == 224
