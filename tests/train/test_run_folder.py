"""One run per folder, with real processes: a second run while the first holds the folder is refused with one
line naming the owner; the lock of a killed run is taken over; a new run into a folder that holds a run is
refused; a kill during the final weight write leaves a temp file that the resumed run removes, and a user's
own `.tmp-*` files are never touched."""

from __future__ import annotations

import json
import signal
import time

import torch

from tokenmix.train.lock import LOCK_NAME

from .test_bad_inputs import assert_one_line_error
from .util import popen, tokenmix, wait_for_line, weights


def wait_for(condition, what: str, proc, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while not condition():
        assert proc.poll() is None, f"the run ended before {what}: {proc.stderr.read()}"
        assert time.time() < deadline, f"no {what} after {timeout} s"
        time.sleep(0.05)


def test_two_runs_into_one_folder_then_a_stale_lock(tmp_path):
    run = tmp_path / "run"
    # one 1437-image step per epoch: slow enough to still be running when the second run starts
    args = ("train", "--epochs", "200", "--batch-size", "1437", "--output", run)
    first = popen(*args)
    wait_for(lambda: (run / "config.json").exists(), "config.json", first)
    owner = json.loads((run / LOCK_NAME).read_text())
    assert owner["pid"] == first.pid

    second = tokenmix(*args, "--resume", "auto")
    assert_one_line_error(second.returncode, second.stderr, 2, f"is in use by pid {first.pid} on {owner['host']}")

    first.send_signal(signal.SIGKILL)
    first.wait()
    (run / ".tmp-my-notes").write_text("a user's file")
    resumed = popen(*args, "--resume", "auto")
    stale = f"tokenmix train: taking over the stale lock of pid {first.pid} on {owner['host']}"
    wait_for_line(resumed, resumed.stderr, stale)
    wait_for_line(resumed, resumed.stdout, "training ")
    assert json.loads((run / LOCK_NAME).read_text())["pid"] == resumed.pid
    resumed.send_signal(signal.SIGTERM)
    resumed.communicate(timeout=60)
    assert resumed.returncode == 143
    assert not (run / LOCK_NAME).exists()  # released on exit

    fresh = tokenmix(*args)
    assert_one_line_error(fresh.returncode, fresh.stderr, 2, f"{run} holds another run", "--resume auto")
    assert (run / ".tmp-my-notes").read_text() == "a user's file"


def test_kill_during_the_final_weight_write_then_resume(tmp_path):
    run = tmp_path / "run"
    victim = popen(
        "train", "--model", "mixer_digits", "--epochs", "1", "--output", run, TOKENMIX_TEST_PAUSE_IN_FINAL_WRITE="60"
    )
    leftover = run / f".tokenmix-tmp-model.safetensors-{victim.pid}"
    wait_for(leftover.exists, leftover.name, victim)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert not (run / "model.safetensors").exists()

    resumed = tokenmix("train", "--model", "mixer_digits", "--epochs", "1", "--output", run, "--resume", "auto")
    assert resumed.returncode == 0, resumed.stderr
    assert f"removed {leftover}, left by a killed run" in resumed.stderr
    assert not leftover.exists()
    final, last = (
        weights(run / "model.safetensors"),
        weights(run / "checkpoints" / "step-00000022" / "model.safetensors"),
    )
    assert final.keys() == last.keys() and all(torch.equal(final[k], last[k]) for k in final)
