"""CIFAR-10 / CIFAR-100 in torchvision's directory format (the python-version batch files).

The batch files are pickles. torchvision's CIFAR classes call `pickle.load` on them, which runs whatever code
a tampered file carries, so we read them ourselves with an unpickler that resolves only the numpy globals an
ndarray needs; anything else in the file is refused. `--download` fetches the official archive through
torchvision's downloader, which checks its MD5 before extracting.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np

from .arrays import ImageArrays, from_numpy

LAYOUT = {
    # name: (folder, train files, test file, meta file, label key, class-names key, torchvision class)
    "cifar10": (
        "cifar-10-batches-py",
        [f"data_batch_{i}" for i in range(1, 6)],
        "test_batch",
        "batches.meta",
        "labels",
        "label_names",
        "CIFAR10",
    ),
    "cifar100": (
        "cifar-100-python",
        ["train"],
        "test",
        "meta",
        "fine_labels",
        "fine_label_names",
        "CIFAR100",
    ),
}

ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),  # how protocol-2 pickles written by Python 3 store bytes; it only encodes a string
}


class _ArraysOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in ALLOWED_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to unpickle {module}.{name}: a CIFAR batch holds only arrays")


def read_batch(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise FileNotFoundError(f"CIFAR batch file {path} does not exist")
    try:
        with open(path, "rb") as f:
            obj = _ArraysOnly(f, encoding="latin1").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as e:
        raise ValueError(f"{path} is not a CIFAR batch file: {e}") from None
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: expected a dict, got {type(obj).__name__}")
    return obj


def _images(batch: dict[str, Any], path: Path) -> np.ndarray:
    data = np.asarray(batch.get("data"))
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise ValueError(f"{path}: expected 'data' of shape (N, 3072) uint8, got {data.shape} {data.dtype}")
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)  # stored as planes: R, G, B


def load_cifar(name: str, root: str | Path | None, download: bool = False) -> ImageArrays:
    folder, train_files, test_file, meta_file, label_key, names_key, tv_class = LAYOUT[name]
    if root is None:
        raise ValueError(f"{name} needs --data-dir (the directory that holds {folder}/)")
    root = Path(root)
    base = root / folder
    if download and not base.is_dir():
        _download(tv_class, root)
    if not base.is_dir():
        raise FileNotFoundError(f"{name}: {base} does not exist (pass --download to fetch it)")

    def split(files: list[str]) -> tuple[np.ndarray, np.ndarray]:
        batches = [(read_batch(base / f), base / f) for f in files]
        x = np.concatenate([_images(b, p) for b, p in batches])
        y = np.concatenate([np.asarray(b.get(label_key, []), dtype=np.int64) for b, _ in batches])
        return x, y

    x_train, y_train = split(train_files)
    x_test, y_test = split([test_file])
    classes = read_batch(base / meta_file).get(names_key)
    return from_numpy(name, x_train, y_train, x_test, y_test, classes)


def _download(tv_class: str, root: Path) -> None:
    import torchvision.datasets as tvd
    from torchvision.datasets.utils import download_and_extract_archive

    cls = getattr(tvd, tv_class)
    download_and_extract_archive(cls.url, str(root), filename=cls.filename, md5=cls.tgz_md5)
