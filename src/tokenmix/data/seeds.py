"""Seeds derived from counters: every random choice of the data pipeline is a pure function of
(run seed, purpose, epoch, step, ...), so resuming needs only the counters, never a saved generator."""

from __future__ import annotations

import zlib

import numpy as np
import torch


def derive_seed(seed: int, purpose: str, *counters: int) -> int:
    """A 63-bit seed from the run seed, a purpose tag and counters (numpy's SeedSequence hashing)."""
    entropy = [seed, zlib.crc32(purpose.encode()), *counters]
    return int(np.random.SeedSequence(entropy).generate_state(2, np.uint64)[0] >> np.uint64(1))


def generator(seed: int, purpose: str, *counters: int) -> torch.Generator:
    return torch.Generator().manual_seed(derive_seed(seed, purpose, *counters))


def epoch_permutation(n: int, seed: int, epoch: int) -> torch.Tensor:
    return torch.randperm(n, generator=generator(seed, "order", epoch))
