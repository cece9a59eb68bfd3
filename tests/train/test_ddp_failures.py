"""DDP failure modes with real torchrun processes (gloo, CPU). A frozen rank ends the job with a message within
collective_timeout instead of torch's 30 minutes: the config field reaches init_process_group, and a run whose
rank 1 sleeps stops with one line from rank 0 naming the timeout and the step. A SIGTERM to one rank stops
every rank after the same step, with one checkpoint of both ranks' state."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from tokenmix.train import distributed
from tokenmix.train.config import resolve

from .util import env, wait_for_line


def test_collective_timeout_reaches_init_process_group(monkeypatch):
    seen = {}
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setattr(distributed.dist, "is_initialized", lambda: False)
    monkeypatch.setattr(distributed.dist, "init_process_group", lambda backend, timeout: seen.update(timeout=timeout))
    cfg = resolve("digits", {"collective_timeout": 7.5})
    distributed.init_distributed("cpu", cfg.collective_timeout)
    assert seen["timeout"] == timedelta(seconds=7.5)


def test_a_frozen_rank_ends_the_job_with_a_message(tmp_path):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "tokenmix"]
    cmd += ["train", "--model", "mixer_digits", "--epochs", "2", "--set", "collective_timeout=4"]
    stall = dict(TOKENMIX_TEST_STALL_RANK="1:3:40")  # rank 1 sleeps 40 s before step 3
    done = subprocess.run(
        [*cmd, "--output", str(tmp_path / "run")], env=env(**stall), capture_output=True, text=True, timeout=240
    )
    assert done.returncode != 0
    assert "rank 0: the other ranks did not answer within collective_timeout=4 s after step 2" in done.stderr


def worker_pids(launcher: subprocess.Popen) -> dict[int, int]:
    """rank -> pid of torchrun's worker processes (read from /proc)."""
    pids = {}
    for pid in Path(f"/proc/{launcher.pid}/task/{launcher.pid}/children").read_text().split():
        environ = dict(
            item.split("=", 1) for item in Path(f"/proc/{pid}/environ").read_text().split("\0") if "=" in item
        )
        if "RANK" in environ:
            pids[int(environ["RANK"])] = int(pid)
    return pids


def test_sigterm_to_one_rank_stops_every_rank_after_the_same_step(tmp_path):
    run = tmp_path / "run"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "tokenmix"]
    cmd += ["train", "--model", "mixer_digits", "--epochs", "30", "--output", str(run)]
    launcher = subprocess.Popen(cmd, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    wait_for_line(launcher, launcher.stdout, "epoch   1/30")
    os.kill(worker_pids(launcher)[1], signal.SIGTERM)  # rank 1 only; rank 0 learns it from the all-reduce
    _, err = launcher.communicate(timeout=120)
    said = re.search(r"SIGTERM received: stopped after step (\d+); checkpoint in (\S+);", err)
    assert said, err[-3000:]  # printed by rank 0, which got no signal
    step = int(said[1])
    assert Path(said[2]) == run / "checkpoints" / f"step-{step:08d}"
    saved = json.loads((Path(said[2]) / "state.json").read_text())
    assert saved["step"] == step and saved["world"] == 2
