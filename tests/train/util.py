"""Running `python -m tokenmix` in a real subprocess, with this checkout's sources first on the path."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import torch
from safetensors.torch import load_file

SRC = Path(__file__).resolve().parents[2] / "src"


def env(**extra: str) -> dict[str, str]:
    out = dict(os.environ)
    out["PYTHONPATH"] = os.pathsep.join([str(SRC), out.get("PYTHONPATH", "")])
    out.update(extra)
    return out


def tokenmix(*args: str, timeout: float = 240, **extra_env: str) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "tokenmix", *map(str, args)]
    return subprocess.run(cmd, env=env(**extra_env), capture_output=True, text=True, timeout=timeout)


def popen(*args: str, **extra_env: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "tokenmix", *map(str, args)]
    return subprocess.Popen(cmd, env=env(**extra_env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_line(proc: subprocess.Popen, stream, prefix: str, timeout: float = 120) -> None:
    """Read `stream` (proc's stdout or stderr) up to a line starting with prefix; proc is killed after timeout."""
    watchdog = threading.Timer(timeout, proc.kill)
    watchdog.start()
    try:
        for line in stream:
            if line.startswith(prefix):
                return
    finally:
        watchdog.cancel()
    raise AssertionError(f"the run ended (or was killed after {timeout} s) before printing {prefix!r}")


def weights(path: Path) -> dict[str, torch.Tensor]:
    return load_file(str(path))


def last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def in_process(capsys, *args) -> tuple[int, str, str]:
    """`tokenmix ARGS` in this process, for commands that fail before training changes global torch state."""
    from tokenmix.cli import main

    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err
