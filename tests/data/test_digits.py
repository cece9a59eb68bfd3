"""The digits shipped inside the package are scikit-learn's, and the split gives the same images as it did
when they were read through scikit-learn. The checksums were computed from `sklearn.datasets.load_digits()`
(scikit-learn 1.9.1) and the old loader's split, when the data moved into the package; CI has no scikit-learn."""

from __future__ import annotations

import hashlib

import numpy as np

from tokenmix.data.digits import load_digits_arrays, load_digits_raw

SKLEARN_SHA256 = {
    "images": "8f26b2bd9d135c256808f68f14fdabddde6d9c7f869ae419704b051f0f14b3b3",
    "labels": "8ba4f891220f5e4c9c819638d1602d74b83618f167043c6da52a2a247841ddf0",
}
SPLIT_SHA256 = {
    "x_train": "11d61040d536b393a3b52e11204926275c1435d5cea2d43e865e367e6e54c83f",
    "y_train": "f3013980fdfb2ba3a068d608da78dc7659953516f20f123c379b6a4741d686a7",
    "x_test": "15a1a27a82fd05cf46d6ff76140285e9a43b203c2d1bda8daf6161837416109b",
    "y_test": "7323f6e1154dacb0e6f4a73e53f60074e1956b6498cca186d030e07a7ce38ee6",
}


def sha256(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def test_shipped_digits_are_scikit_learns_arrays() -> None:
    images, labels = load_digits_raw()
    assert images.shape == (1797, 8, 8) and images.dtype == np.uint8 and images.max() == 16
    assert labels.shape == (1797,) and set(np.unique(labels)) == set(range(10))
    assert {"images": sha256(images), "labels": sha256(labels)} == SKLEARN_SHA256


def test_split_gives_the_images_the_scikit_learn_loader_gave() -> None:
    data = load_digits_arrays()
    assert (len(data.x_train), len(data.x_test)) == (1437, 360) and data.classes == tuple("0123456789")
    arrays = dict(  # back to the (N, 8, 8) uint8 / int64 arrays the old loader produced
        x_train=data.x_train[:, 0].numpy(),
        y_train=data.y_train.numpy(),
        x_test=data.x_test[:, 0].numpy(),
        y_test=data.y_test.numpy(),
    )
    assert {k: sha256(v) for k, v in arrays.items()} == SPLIT_SHA256
