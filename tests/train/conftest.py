from __future__ import annotations

import pytest

from .util import tokenmix


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory):
    """A short real training run (mixer_digits, 1 epoch) with its checkpoint and final weights."""
    run = tmp_path_factory.mktemp("finished") / "run"
    done = tokenmix("train", "--model", "mixer_digits", "--epochs", "1", "--output", run)
    assert done.returncode == 0, done.stderr
    return run
