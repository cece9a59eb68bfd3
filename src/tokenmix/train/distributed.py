"""torchrun support: read the launcher's environment, start the process group, reduce metrics.

Backend: NCCL on CUDA, gloo on CPU (timm's rule). c10d is unauthenticated: bind the rendezvous to 127.0.0.1
(or a private network) — `torchrun --standalone` does.

BatchNorm under DDP on CPU keeps per-rank statistics: nn.SyncBatchNorm refuses CPU tensors, so each rank
normalises with its own share of the batch (ConvMixer, RepMLP). Models with LayerNorm/GroupNorm/Affine
(Mixer, ResMLP, gMLP, PoolFormer, ViT) train identically, up to float summation order, on N ranks and on one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from ..config import ConfigError


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world > 1


def pick_device(preference: str, local_rank: int) -> torch.device:
    if preference == "cuda" and not torch.cuda.is_available():
        raise ValueError("device cuda requested but CUDA is not available")
    if preference == "cpu" or not torch.cuda.is_available():
        return torch.device("cpu")
    return torch.device("cuda", local_rank)


def init_distributed(device_preference: str, timeout_s: float = 600.0) -> DistInfo:
    """One process, or the process group torchrun describes in WORLD_SIZE / RANK / LOCAL_RANK. A collective
    that waits longer than timeout_s for a rank (frozen, deadlocked) raises instead of hanging (torch: 30 min)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local_rank = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    device = pick_device(device_preference, local_rank)
    if world > 1 and not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(device)
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend, timeout=timedelta(seconds=timeout_s))
    return DistInfo(rank, world, local_rank, device)


def shutdown(info: DistInfo) -> None:
    if info.enabled and dist.is_initialized():
        dist.destroy_process_group()


def all_sum(values: list[float], info: DistInfo) -> list[float]:
    """Elementwise sum over ranks (float64, so counts stay exact)."""
    if not info.enabled:
        return values
    t = torch.tensor(values, dtype=torch.float64, device=info.device)
    dist.all_reduce(t)
    return t.tolist()


def all_max(values: list[float], info: DistInfo) -> list[float]:
    """Elementwise maximum over ranks."""
    if not info.enabled:
        return values
    t = torch.tensor(values, dtype=torch.float64, device=info.device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return t.tolist()


def any_rank(flag: bool, info: DistInfo) -> bool:
    return all_sum([float(flag)], info)[0] > 0 if info.enabled else flag


def gather_objects(obj: Any, info: DistInfo) -> list[Any]:
    if not info.enabled:
        return [obj]
    out: list[Any] = [None] * info.world
    dist.all_gather_object(out, obj)
    return out


def broadcast_object(obj: Any, info: DistInfo) -> Any:
    if not info.enabled:
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def sync_batchnorm(model: nn.Module, wanted: bool, info: DistInfo) -> nn.Module:
    """With `wanted` under DDP: BatchNorm statistics over the global batch (nn.SyncBatchNorm, same parameters,
    same state-dict keys) instead of each rank's share. torch's SyncBatchNorm has no CPU kernel."""
    if not (wanted and info.enabled):
        return model
    if info.device.type != "cuda":
        raise ConfigError(
            "sync_bn needs CUDA under DDP (torch's SyncBatchNorm has no CPU kernel); on CPU each rank keeps "
            "its own BatchNorm statistics: leave sync_bn off"
        )
    return nn.SyncBatchNorm.convert_sync_batchnorm(model)
