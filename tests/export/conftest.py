from __future__ import annotations

import pytest

from ..train.util import tokenmix


@pytest.fixture(scope="session")
def trained_digits(tmp_path_factory):
    """The README's first model, `tokenmix train` as it comes (convmixer_digits, 10 epochs on the 8x8 digits, about
    a minute on a loaded 2-core CPU): real weights whose logits depend on the image, unlike a fresh
    zero-initialised classifier."""
    run = tmp_path_factory.mktemp("digits") / "run"
    done = tokenmix("train", "--output", run, timeout=400)
    assert done.returncode == 0, done.stderr
    return run / "model.safetensors"


def digits_test_images(meta: dict) -> tuple:
    """The digits test split as uint8 arrays, normalised here from the mean/std an ONNX file carries."""
    import numpy as np

    from tokenmix.data.digits import load_digits_arrays

    data = load_digits_arrays()
    mean = np.asarray(meta["mean"], dtype=np.float32).reshape(1, -1, 1, 1)
    std = np.asarray(meta["std"], dtype=np.float32).reshape(1, -1, 1, 1)
    x = (data.x_test.numpy().astype(np.float32) / 255 - mean) / std
    return x.astype(np.float32), data.y_test.numpy()
