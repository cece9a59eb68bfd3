"""Execution settings a config names: seeds and deterministic mode, mixed precision (the one autocast helper of
tokenmix: training, evaluation and bench use it), memory format."""

from __future__ import annotations

import os
import random
from contextlib import AbstractContextManager, nullcontext

import numpy as np
import torch
from torch import nn

from ..config import ConfigError
from ..memory_format import preferred_memory_format


def seed_everything(seed: int, rank: int, deterministic: bool, threads: int | None) -> None:
    """Seed the global generators (per rank, so dropout differs between ranks as timm does) and, in
    deterministic mode, ask torch for deterministic kernels. On CPU with a fixed thread count this makes a
    run bit-reproducible; the data pipeline does not use these generators (see tokenmix.data.seeds)."""
    if threads is not None:
        torch.set_num_threads(threads)
    random.seed(seed + rank)
    np.random.seed((seed + rank) % 2**32)
    torch.manual_seed(seed + rank)
    if deterministic:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # cuBLAS needs it for reproducible GEMMs
        torch.use_deterministic_algorithms(True, warn_only=True)
        # Deterministic mode also fills every new tensor with NaN, which costs a third of a small CPU step
        # (aten::fill_) and changes no result: our kernels never read uninitialised memory.
        torch.utils.deterministic.fill_uninitialized_memory = False
        torch.backends.cudnn.benchmark = False


def cpu_has_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AVX512-BF16 / AMX), so that bf16 autocast pays off."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def amp_dtype(amp: str, device: torch.device | str) -> torch.dtype | None:
    """The autocast dtype for `amp` on `device`; None: full precision.

    amp: "none" (or "fp32"), "bf16", "fp16" (CUDA only: it needs a GradScaler), or "auto": bf16 where the
    hardware computes it natively (CUDA, or a CPU with cpu_has_bf16), fp16 on older CUDA GPUs, else none.
    """
    device = torch.device(device)
    if amp in ("none", "fp32"):
        return None
    if amp == "fp16":
        if device.type != "cuda":
            raise ConfigError("amp fp16 needs CUDA (it needs a GradScaler); use amp=bf16 on CPU")
        return torch.float16
    if amp == "bf16":
        return torch.bfloat16
    if amp != "auto":
        raise ConfigError(f"amp must be none, fp32, bf16, fp16 or auto, got {amp!r}")
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if cpu_has_bf16() else None


def autocast(device: torch.device | str, dtype: torch.dtype | None) -> AbstractContextManager:
    """Mixed precision in `dtype` on `device` (from amp_dtype); None: a no-op context, full precision."""
    device_type = torch.device(device).type
    return torch.autocast(device_type, dtype=dtype) if dtype is not None else nullcontext()


def memory_format(setting: str, model: nn.Module, device: torch.device) -> torch.memory_format:
    """The training memory format: channels_last "on", "off", or "auto": the model's measured preference on
    `device` (tokenmix.memory_format)."""
    if setting == "auto":
        return preferred_memory_format(model, device, training=True)
    return torch.channels_last if setting == "on" else torch.contiguous_format
