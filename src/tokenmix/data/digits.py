"""scikit-learn's bundled 8×8 handwritten digits (1,797 grey images, 10 classes; no download).

Split: a fixed permutation (numpy PCG64, seed 0, stable across numpy versions) puts 360 images (20 %) in the
test set and 1,437 in the training set. The pixels are 0..16 in the original; they are scaled to 0..255.
"""

from __future__ import annotations

import numpy as np

from .arrays import ImageArrays, from_numpy

NUM_TEST = 360


def load_digits_arrays() -> ImageArrays:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = np.round(bunch.images * (255 / 16)).astype(np.uint8)  # (1797, 8, 8), 0..16 -> 0..255
    y = bunch.target.astype(np.int64)
    order = np.random.default_rng(0).permutation(len(x))
    test, train = order[:NUM_TEST], order[NUM_TEST:]
    return from_numpy("digits", x[train], y[train], x[test], y[test], [str(c) for c in bunch.target_names])
