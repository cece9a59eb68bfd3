from __future__ import annotations

import numpy as np
import pytest

from ..train.util import tokenmix

CLASSES = ("dark", "mid", "light")


@pytest.fixture(scope="session")
def digits_run(tmp_path_factory):
    """The README's first model: `tokenmix train` (convmixer_digits on the 8x8 grey digits), one epoch."""
    run = tmp_path_factory.mktemp("digits") / "run"
    done = tokenmix("train", "--epochs", "1", "--output", run)
    assert done.returncode == 0, done.stderr
    return run


@pytest.fixture(scope="session")
def grey28_npz(tmp_path_factory):
    """48 grey 28x28 images of three brightness classes, with their names stated in `classes`."""
    rng = np.random.default_rng(0)
    y = np.arange(48) % 3
    x = (rng.integers(0, 60, (48, 28, 28)) + 90 * y[:, None, None]).astype(np.uint8)
    path = tmp_path_factory.mktemp("grey28") / "grey28.npz"
    np.savez(path, x_train=x, y_train=y, x_test=x[:12], y_test=y[:12], classes=np.array(CLASSES))
    return path


@pytest.fixture(scope="session")
def mixer28_run(tmp_path_factory, grey28_npz):
    """A Mixer trained on 28x28 images (196 tokens of 2x2 patches), one epoch."""
    run = tmp_path_factory.mktemp("mixer28") / "run"
    args = ("--model", "mixer_digits", "--data", "npz", "--data-dir", grey28_npz, "--batch-size", "16")
    done = tokenmix("train", *args, "--epochs", "1", "--output", run)
    assert done.returncode == 0, done.stderr
    return run
