"""Is a fast path still the same classifier? Top-1 agreement with eager fp32 on the same inputs."""

from __future__ import annotations

import torch
from torch import nn

from ..train.runtime import amp_dtype, autocast


@torch.inference_mode()
def top1_agreement(reference: nn.Module, fast: nn.Module, x: torch.Tensor, dtype: str = "bf16") -> float:
    """Fraction of the samples of x whose argmax class under `fast` (run with `dtype` autocast) matches the
    fp32 argmax of `reference`."""
    expected = reference(x).argmax(-1)
    with autocast(x.device, amp_dtype(dtype, x.device)):
        got = fast(x).float().argmax(-1)
    return (got == expected).float().mean().item()
