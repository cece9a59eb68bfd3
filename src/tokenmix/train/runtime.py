"""Execution settings a config names: seeds and deterministic mode, mixed precision, memory format."""

from __future__ import annotations

import os
import random
from contextlib import nullcontext

import numpy as np
import torch

from ..config import ConfigError
from ..factory import MODELS

# channels_last for training, "auto": measured on one H100 (2026-11-25, AdamW step, img/s NCHW -> channels_last):
# ConvMixer-768/32 at 224 fp32 187 -> 115 but bf16 202 -> 502; ConvMixer-256/8 at 32 fp32 12.7k -> 18.1k, bf16
# 13.3k -> 21.5k; PoolFormer-S12 at 224 fp32 2634 -> 2278, bf16 equal; at 32 equal or worse. So: ConvMixer
# only. On CPU auto keeps NCHW: not measured for this trainer's small models (set channels_last=on to try;
# cpu-performance.md §4.1 saw 1.36-1.59x for ConvMixer-256/8 at batch 64).
CHANNELS_LAST_FAMILIES = ("convmixer",)


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
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def amp_dtype(amp: str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype for `amp` on `device`; None: full precision."""
    if amp == "none":
        return None
    if amp == "fp16":
        if device.type != "cuda":
            raise ConfigError("amp fp16 needs CUDA (it needs a GradScaler); use amp=bf16 on CPU")
        return torch.float16
    if amp == "bf16":
        return torch.bfloat16
    # auto: bf16 where the hardware computes it natively, else full precision
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if cpu_has_bf16() else None


def autocast(device: torch.device, dtype: torch.dtype | None):
    return torch.autocast(device.type, dtype=dtype) if dtype is not None else nullcontext()


def prefers_channels_last(model_name: str, device: torch.device) -> bool:
    """The "auto" rule for training (measurements above)."""
    return device.type == "cuda" and MODELS.get(model_name).family in CHANNELS_LAST_FAMILIES


def memory_format(setting: str, model_name: str, device: torch.device) -> torch.memory_format:
    on = setting == "on" or (setting == "auto" and prefers_channels_last(model_name, device))
    return torch.channels_last if on else torch.contiguous_format
