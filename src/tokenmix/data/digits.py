"""The 8×8 handwritten digits (1,797 grey images, 10 classes), shipped with the package: no download.

digits.npz is scikit-learn's bundled copy of this data set (`sklearn.datasets.load_digits()`; scikit-learn is
BSD-3-Clause licensed, which permits redistribution), stored as it is there: `images` (1797, 8, 8) uint8 with
pixels 0..16 and `labels` (1797,) uint8. The data are the test set of the UCI "Optical Recognition of Handwritten
Digits" set (E. Alpaydin, C. Kaynak, 1998). Written once with
`np.savez_compressed(path, images=d.images.astype(np.uint8), labels=d.target.astype(np.uint8))`, an exact copy
(every value is an integer); tests/data/test_digits.py pins its checksum.

Split: a fixed permutation (numpy PCG64, seed 0, stable across numpy versions) puts 360 images (20 %) in the
test set and 1,437 in the training set. The pixels are scaled from 0..16 to 0..255.
"""

from __future__ import annotations

from importlib import resources

import numpy as np

from .arrays import ImageArrays, from_numpy

NUM_TEST = 360


def load_digits_raw() -> tuple[np.ndarray, np.ndarray]:
    """The shipped images (1797, 8, 8) uint8 in 0..16 and labels (1797,) uint8, in scikit-learn's order."""
    with resources.files(__package__).joinpath("digits.npz").open("rb") as f, np.load(f, allow_pickle=False) as npz:
        return npz["images"], npz["labels"]


def load_digits_arrays() -> ImageArrays:
    images, labels = load_digits_raw()
    x = np.round(images * (255 / 16)).astype(np.uint8)  # 0..16 -> 0..255
    y = labels.astype(np.int64)
    order = np.random.default_rng(0).permutation(len(x))
    test, train = order[:NUM_TEST], order[NUM_TEST:]
    return from_numpy("digits", x[train], y[train], x[test], y[test], [str(c) for c in range(10)])
