"""Fashion-MNIST (Xiao et al. 2017) from its four official IDX .gz files: 60,000 / 10,000 grey 28×28 images.

Debian ships them byte-exact in the package dataset-fashion-mnist, hence the default directory.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from .arrays import ImageArrays, from_numpy

DEFAULT_DIR = Path("/usr/share/datasets/fashion-mnist")
CLASSES = (
    "t-shirt/top",
    "trouser",
    "pullover",
    "dress",
    "coat",
    "sandal",
    "shirt",
    "sneaker",
    "bag",
    "ankle boot",
)
FILES = {
    "x_train": "train-images-idx3-ubyte.gz",
    "y_train": "train-labels-idx1-ubyte.gz",
    "x_test": "t10k-images-idx3-ubyte.gz",
    "y_test": "t10k-labels-idx1-ubyte.gz",
}


def read_idx(path: Path, ndim: int) -> np.ndarray:
    """An IDX file (LeCun's MNIST format): magic 0x0000 0x08 (ubyte) ndim, then big-endian int32 sizes."""
    try:
        with gzip.open(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as e:
        raise ValueError(f"{path} is not a readable gzip file: {e}") from None
    if len(data) < 4 or data[:3] != b"\x00\x00\x08" or data[3] != ndim:
        raise ValueError(f"{path}: expected an IDX file of {ndim}-d unsigned bytes, got header {data[:4].hex()}")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    body = np.frombuffer(data, np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(shape)):
        raise ValueError(f"{path}: header says {shape} ({int(np.prod(shape))} bytes), file has {body.size}")
    return body.reshape(shape).copy()  # frombuffer is read-only; torch wants writable memory


def load_fashion_mnist(root: str | Path | None = None) -> ImageArrays:
    root = Path(root) if root else DEFAULT_DIR
    paths = {k: root / name for k, name in FILES.items()}
    missing = [p.name for p in paths.values() if not p.is_file()]
    if missing:
        hint = " (apt-get install dataset-fashion-mnist)" if root == DEFAULT_DIR else ""
        raise FileNotFoundError(f"fashion_mnist: {root} lacks {', '.join(missing)}{hint}")
    arrays = {k: read_idx(p, 3 if k.startswith("x") else 1) for k, p in paths.items()}
    return from_numpy("fashion_mnist", classes=list(CLASSES), **arrays)
