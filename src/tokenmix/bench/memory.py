"""Peak memory of a call: on CPU the growth of the process's resident set (Linux /proc); on a GPU, torch's
peak of allocated device memory above what was allocated before.

Method: hand freed memory back to the OS (glibc malloc_trim, or tcmalloc's ReleaseFreeMemory when it is
preloaded), reset the kernel's high-water mark (VmHWM, via /proc/self/clear_refs), run the call, and report
VmHWM - VmRSS(before). This is what the call costs the machine -- activations, workspace, allocator slack --
not the bytes of live tensors; it includes nothing that was resident before (weights, earlier caches).
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable
from pathlib import Path

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_kib(field: str) -> int:
    for line in _STATUS.read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise OSError(f"{field} not in /proc/self/status")


def release_free_memory() -> None:
    """Ask the allocator in use to return its cached free pages to the OS (best effort)."""
    libc = ctypes.CDLL(None)
    release = getattr(libc, "MallocExtension_ReleaseFreeMemory", None)  # tcmalloc, if preloaded
    if release is not None:
        release()
    trim = getattr(libc, "malloc_trim", None)
    if trim is not None:
        trim(0)


def available() -> bool:
    return _STATUS.exists() and _CLEAR_REFS.exists()


def peak_rss_delta_mb(fn: Callable[[], object]) -> float | None:
    """MB the resident set grew to, above where it started, while fn ran; None where /proc cannot tell."""
    if not available():
        return None
    release_free_memory()
    before = _status_kib("VmRSS")
    try:
        _CLEAR_REFS.write_text("5")  # reset VmHWM to the current RSS
    except OSError:
        return None
    fn()
    return max(_status_kib("VmHWM") - before, 0) / 1024


def peak_cuda_mb(fn: Callable[[], object]) -> float:
    """MB of CUDA memory allocated at the peak of fn, above what was allocated before it."""
    import torch

    torch.cuda.synchronize()
    before = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    fn()
    torch.cuda.synchronize()
    return (torch.cuda.max_memory_allocated() - before) / 2**20
