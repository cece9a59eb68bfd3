"""Running `python -m tokenmix` in a real subprocess, with this checkout's sources first on the path."""

from __future__ import annotations

import os
import subprocess
import sys
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
