"""The data loaders against files written here in each official format, and the batch pipeline's claims:
counters determine a batch, N rank shards make up the one-process batch, crop/flip move pixels as stated."""

from __future__ import annotations

import gzip
import pickle

import numpy as np
import pytest
import torch

from tokenmix.data import ArrayBatches, Shard, load_arrays
from tokenmix.data.augment import crop_flip
from tokenmix.data.cifar import load_cifar
from tokenmix.data.fashion_mnist import load_fashion_mnist
from tokenmix.data.npz import load_npz


def write_cifar10(root, n=20):
    base = root / "cifar-10-batches-py"
    base.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {
            "data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            "labels": rng.integers(0, 10, n).tolist(),
        }
        (base / name).write_bytes(pickle.dumps(batch, protocol=2))
    (base / "batches.meta").write_bytes(pickle.dumps({"label_names": [f"c{i}" for i in range(10)]}))
    return base


def test_cifar10_reads_torchvision_layout_as_nchw_planes(tmp_path):
    base = write_cifar10(tmp_path)
    data = load_cifar("cifar10", tmp_path)
    assert data.x_train.shape == (100, 3, 32, 32) and data.x_test.shape == (20, 3, 32, 32)
    first = pickle.loads((base / "data_batch_1").read_bytes())["data"][0]
    assert torch.equal(data.x_train[0].flatten(), torch.from_numpy(first))  # R plane, then G, then B
    assert data.classes[3] == "c3"


class Payload:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_cifar_batch_with_code_is_refused_unrun(tmp_path):
    base = write_cifar10(tmp_path)
    marker = tmp_path / "pwned"
    (base / "data_batch_3").write_bytes(pickle.dumps({"data": Payload(marker)}))
    with pytest.raises(ValueError, match="refusing to unpickle"):
        load_cifar("cifar10", tmp_path)
    assert not marker.exists()


def write_idx(path, array: np.ndarray):
    header = bytes([0, 0, 8, array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    with gzip.open(path, "wb") as f:
        f.write(header + array.tobytes())


def test_fashion_mnist_reads_idx_gz(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (6, 28, 28), dtype=np.uint8)
    for split, n in (("train", 6), ("t10k", 6)):
        write_idx(tmp_path / f"{split}-images-idx3-ubyte.gz", images[:n])
        write_idx(tmp_path / f"{split}-labels-idx1-ubyte.gz", np.arange(n, dtype=np.uint8))
    data = load_fashion_mnist(tmp_path)
    assert data.x_train.shape == (6, 1, 28, 28) and torch.equal(data.x_train[2, 0], torch.from_numpy(images[2]))
    assert data.classes[9] == "ankle boot"
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x09abc"))
    with pytest.raises(ValueError, match="header says"):
        load_fashion_mnist(tmp_path)


def test_digits_split_is_fixed_and_complete():
    a, b = load_arrays("digits"), load_arrays("digits")
    assert (len(a.y_train), len(a.y_test)) == (1437, 360)
    assert torch.equal(a.x_test, b.x_test) and a.x_train.dtype == torch.uint8 and a.x_train.max() == 255


def test_a_batch_is_a_function_of_seed_epoch_step_and_ranks_partition_it():
    data = load_arrays("digits")
    one = ArrayBatches(data, 64, seed=3, mean=(0.5,), std=(0.5,), padding=2, hflip=0.5)
    x, y = one.train_batch(epoch=4, step=7)
    x2, _ = one.train_batch(epoch=4, step=7)
    assert torch.equal(x, x2)
    assert not torch.equal(x, one.train_batch(epoch=4, step=8)[0])
    shards = [ArrayBatches(data, 64, 3, (0.5,), (0.5,), 2, 0.5, Shard(r, 2)).train_batch(4, 7) for r in range(2)]
    assert torch.equal(torch.cat([s[0] for s in shards]), x) and torch.equal(torch.cat([s[1] for s in shards]), y)


def test_crop_flip_moves_pixels_as_stated():
    x = torch.arange(2 * 1 * 4 * 4, dtype=torch.uint8).view(2, 1, 4, 4)
    same = crop_flip(x, 1, torch.tensor([1, 1]), torch.tensor([1, 1]), torch.tensor([False, True]))
    assert torch.equal(same[0], x[0]) and torch.equal(same[1], x[1].flip(-1))
    shifted = crop_flip(x, 1, torch.tensor([0, 2]), torch.tensor([0, 2]), torch.tensor([False, False]))
    assert torch.equal(shifted[0, 0, 1:, 1:], x[0, 0, :3, :3]) and shifted[0, 0, 0].sum() == 0
    assert torch.equal(shifted[1, 0, :3, :3], x[1, 0, 1:, 1:])


def test_fashion_mnist_from_debian_package_has_the_official_sizes():
    """The real files of Debian's dataset-fashion-mnist (.ci/run installs it)."""
    data = load_arrays("fashion_mnist")
    assert data.x_train.shape == (60000, 1, 28, 28) and data.x_test.shape == (10000, 1, 28, 28)
    assert torch.bincount(data.y_train).tolist() == [6000] * 10


DENSE = "without class names, labels must be 0..K-1 with each class present; "


def write_npz(path, y_train, y_test=None, **extra):
    y_test = y_train if y_test is None else y_test
    x = lambda y: np.zeros((len(y), 4, 4, 3), np.uint8)
    np.savez(path, x_train=x(y_train), y_train=y_train, x_test=x(y_test), y_test=y_test, **extra)
    return path


@pytest.mark.parametrize(
    "y_train, extra, needle",
    [
        # one huge label would ask for 2^31 class names (a MemoryError before this check)
        (
            np.array([0, 1, 2**31 - 1]),
            {},
            DENSE + "got 3 distinct labels from 0 to 2147483647 (first missing: 2)",
        ),
        (np.array([0, 1, 255]), {"classes": np.array(["cat", "dog"])}, "y_train[2] is label 255, but the data set"),
        (np.array([0, 1, 2, 3, 255]), {}, DENSE + "got 5 distinct labels from 0 to 255 (first missing: 4)"),
        (np.array([0, 1, -1]), {"classes": np.array(["a", "b"])}, "y_train[2] is label -1"),
        (np.array([1, 2, 3]), {}, "from 1 to 3 (first missing: 0)"),
    ],
)
def test_npz_labels_out_of_the_stated_or_dense_range_are_refused(tmp_path, y_train, extra, needle):
    path = write_npz(tmp_path / "d.npz", y_train, **extra)
    with pytest.raises(ValueError, match="d: ") as error:
        load_npz(path)
    assert needle in str(error.value)


def test_npz_with_stated_classes_keeps_labels_that_leave_a_class_empty(tmp_path):
    path = write_npz(tmp_path / "d.npz", np.array([0, 2, 0, 2]), classes=np.array(["a", "b", "c"]))
    data = load_npz(path)
    assert data.classes == ("a", "b", "c") and data.y_train.tolist() == [0, 2, 0, 2]


def test_truncated_or_incomplete_npz_is_one_clear_error(tmp_path):
    whole = write_npz(tmp_path / "d.npz", np.array([0, 1, 0, 1])).read_bytes()
    for n in (0, 100, len(whole) // 2, len(whole) - 30):
        (tmp_path / "cut.npz").write_bytes(whole[:n])
        with pytest.raises(ValueError, match=r"npz data set .*cut.npz is not a readable .npz file"):
            load_npz(tmp_path / "cut.npz")
    np.savez(tmp_path / "part.npz", x_train=np.zeros((2, 4, 4, 3), np.uint8))
    with pytest.raises(ValueError, match=r"lacks \['y_train', 'x_test', 'y_test'\]"):
        load_npz(tmp_path / "part.npz")


def test_fashion_mnist_label_beyond_its_ten_classes_is_refused(tmp_path):
    images = np.zeros((3, 28, 28), np.uint8)
    for split in ("train", "t10k"):
        write_idx(tmp_path / f"{split}-images-idx3-ubyte.gz", images)
        write_idx(tmp_path / f"{split}-labels-idx1-ubyte.gz", np.array([0, 9, 10 if split == "t10k" else 1], np.uint8))
    with pytest.raises(ValueError, match=r"y_test\[2\] is label 10, but the data set states 10 classes"):
        load_fashion_mnist(tmp_path)
