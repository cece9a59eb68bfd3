"""Image files: 16-bit grey scaled (not clipped), decompression bombs and corrupt files refused naming the file,
and in an image folder's evaluation split a corrupt image is left out and counted, never replaced."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from PIL import Image

from tokenmix.data import FolderBatches
from tokenmix.data.images import ImageError, open_image


def test_16_bit_grey_png_is_scaled_to_8_bits_not_clipped(tmp_path):
    levels = np.array([[0, 257, 1000, 32768], [40000, 65000, 65535, 128]], np.uint16)
    Image.fromarray(levels).save(tmp_path / "g16.png")
    assert Image.open(tmp_path / "g16.png").mode == "I;16"  # what makes PIL's own convert clip
    expected = np.round(levels / 65535 * 255).astype(np.uint8)  # float64 reference
    assert np.array_equal(np.asarray(open_image(tmp_path / "g16.png", channels=1)), expected)
    rgb = np.asarray(open_image(tmp_path / "g16.png", channels=3))
    assert rgb.shape == (2, 4, 3) and np.array_equal(rgb[..., 1], expected)


def test_decompression_bomb_and_corrupt_files_are_one_error_naming_the_file(tmp_path, monkeypatch):
    Image.new("L", (200, 200)).save(tmp_path / "big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 100 * 100)  # the same guard as for 20000 x 20000 at the default
    with pytest.raises(ImageError, match=r"big.png is too large to decode safely: .*40000 pixels"):
        open_image(tmp_path / "big.png")
    (tmp_path / "text.png").write_bytes(b"hello")
    with pytest.raises(ImageError, match="cannot read image .*text.png"):
        open_image(tmp_path / "text.png")
    with pytest.raises(ImageError, match="missing.png does not exist"):
        open_image(tmp_path / "missing.png")


def make_folder(root, per_class=4):
    """Each image is one flat grey level that names it: level = 10 * (class * per_class + index) + 10."""
    files = []
    for split in ("train", "val"):
        for label, name in enumerate(("a", "b")):
            (root / split / name).mkdir(parents=True)
            for i in range(per_class):
                level = 10 * (label * per_class + i) + 10
                path = root / split / name / f"{i}.png"
                Image.new("RGB", (8, 8), (level,) * 3).save(path)
                files.append((split, path, label, level))
    return files


def to_tensor(image: Image.Image) -> torch.Tensor:
    return torch.from_numpy(np.array(image)).permute(2, 0, 1)


def test_corrupt_evaluation_image_is_left_out_and_counted_never_replaced(tmp_path):
    files = make_folder(tmp_path)
    val = [(path, label, level) for split, path, label, level in files if split == "val"]
    corrupt = val[2][0]
    corrupt.write_bytes(corrupt.read_bytes()[:40])  # the header parses, the decode fails
    batches = FolderBatches(tmp_path, to_tensor, to_tensor, batch_size=4, seed=0)
    seen = [(x, y) for x, y in batches.test_batches(batch_size=3)]
    levels = torch.cat([x[:, 0, 0, 0] for x, _ in seen]).tolist()
    labels = torch.cat([y for _, y in seen]).tolist()
    readable = [(label, level) for path, label, level in val if path != corrupt]
    assert list(zip(labels, levels, strict=True)) == readable  # each readable image once, the corrupt one absent
    assert batches.test_skipped == {str(corrupt)}


def test_a_batch_of_only_corrupt_evaluation_images_yields_nothing(tmp_path):
    files = make_folder(tmp_path, per_class=2)
    val = [path for split, path, _, _ in files if split == "val"]
    for path in val[:2]:
        path.write_bytes(b"not an image")
    batches = FolderBatches(tmp_path, to_tensor, to_tensor, batch_size=2, seed=0)
    assert [len(y) for _, y in batches.test_batches(batch_size=2)] == [2]
    assert batches.test_skipped == {str(p) for p in val[:2]}


def pid_image(image: Image.Image) -> torch.Tensor:
    """The image's grey level in channel 0, the process that decoded it in channel 1."""
    level = torch.from_numpy(np.array(image)).permute(2, 0, 1)[:1].long()
    return torch.cat([level, torch.full_like(level, os.getpid())])


def test_folder_workers_persist_across_epochs_and_give_the_batches_of_no_workers(tmp_path):
    make_folder(tmp_path)
    inline = FolderBatches(tmp_path, pid_image, pid_image, batch_size=2, seed=0)
    pooled = FolderBatches(tmp_path, pid_image, pid_image, batch_size=2, seed=0, workers=2)
    train_workers, test_workers = set(), set()
    for epoch in range(3):
        for (step, x, y), (step0, x0, y0) in zip(pooled.train_epoch(epoch), inline.train_epoch(epoch), strict=True):
            assert step == step0 and torch.equal(x[:, 0], x0[:, 0]) and torch.equal(y, y0)
            train_workers.update(x[:, 1, 0, 0].tolist())
        for x, _ in pooled.test_batches(batch_size=3):
            test_workers.update(x[:, 1, 0, 0].tolist())
    assert os.getpid() not in train_workers | test_workers
    assert len(train_workers) <= 2 and len(test_workers) <= 2  # the same two processes served every pass
