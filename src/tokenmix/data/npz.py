"""A .npz file of uint8 arrays x_train (N, H, W, C), y_train, x_test, y_test and optional classes
(the format of /work/shared/data/cifar10.npz). Loaded with allow_pickle=False: an object array is refused.
`classes` states the class count: every label must be below it (without it, labels must be exactly 0..K-1)."""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path

import numpy as np

from .arrays import ImageArrays, from_numpy

REQUIRED = ("x_train", "y_train", "x_test", "y_test")


def load_npz(path: str | Path) -> ImageArrays:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"npz data set {path} does not exist")
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = [k for k in REQUIRED if k not in f.files]
            arrays = {k: f[k] for k in REQUIRED if k in f.files}
            classes = [str(c) for c in f["classes"]] if "classes" in f.files else None
    except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as e:  # not a zip, truncated, a corrupt entry
        raise ValueError(f"npz data set {path} is not a readable .npz file: {e}") from None
    except ValueError as e:
        if "allow_pickle" in str(e):
            raise ValueError(f"npz data set {path} holds pickled object arrays; refusing to load them") from None
        raise ValueError(f"npz data set {path} is not a readable .npz file: {e}") from None
    if missing:
        raise ValueError(f"npz data set {path} lacks {missing}; expected arrays {list(REQUIRED)} (+ classes)")
    return from_numpy(path.stem, classes=classes, **arrays)
