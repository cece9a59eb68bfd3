"""The memory allocator under the benchmark. glibc malloc mmaps and unmaps every large activation, which costs
eager PyTorch up to 1.2-1.6x on this kind of CPU (shared/reference/cpu-performance.md, section 3.3); tcmalloc
keeps the pages. Both sides of a comparison always run in one process, so they share whichever is in use."""

from __future__ import annotations

import os
import sys
from pathlib import Path

TCMALLOC_CANDIDATES = (
    "/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4",
    "/usr/lib/x86_64-linux-gnu/libtcmalloc.so.4",
    "/usr/lib64/libtcmalloc_minimal.so.4",
    "/usr/lib/libtcmalloc_minimal.so.4",
)


def find_tcmalloc() -> str | None:
    return next((p for p in TCMALLOC_CANDIDATES if Path(p).exists()), None)


def current() -> str:
    preload = os.environ.get("LD_PRELOAD", "")
    if "tcmalloc" in preload:
        return "tcmalloc"
    if "jemalloc" in preload:
        return "jemalloc"
    return "glibc"


def reexec_with_tcmalloc(cli_args: list[str]) -> str:
    """Restart as `python -m tokenmix *cli_args` with tcmalloc preloaded; returns the allocator in use when
    no restart happens (already preloaded, already restarted once, or no tcmalloc on this machine)."""
    if current() != "glibc" or os.environ.get("TOKENMIX_REEXEC"):
        return current()
    lib = find_tcmalloc()
    if lib is None:
        return "glibc"
    preload = f"{lib} {os.environ.get('LD_PRELOAD', '')}".strip()
    env = dict(os.environ, LD_PRELOAD=preload, TOKENMIX_REEXEC="1")
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, "-m", "tokenmix", *cli_args], env)
    return "tcmalloc"  # not reached
