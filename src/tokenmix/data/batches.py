"""Training batches as a function of (epoch, step): the in-memory path for small images.

The global batch of step s in epoch e is slice s of a permutation drawn from (seed, e); its augmentation is
drawn from (seed, e, s) for the whole global batch, and each rank keeps its contiguous share. So N ranks see
together exactly what one process sees, and a resumed run needs only (epoch, step).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .arrays import ImageArrays
from .augment import crop_flip, crop_flip_params, normalize
from .seeds import epoch_permutation, generator


@dataclass
class Shard:
    rank: int = 0
    world: int = 1


class ArrayBatches:
    """Augmented, normalised train batches and plain test batches of an ImageArrays."""

    def __init__(
        self,
        data: ImageArrays,
        batch_size: int,
        seed: int,
        mean: tuple[float, ...],
        std: tuple[float, ...],
        padding: int = 0,
        hflip: float = 0.0,
        shard: Shard | None = None,
        img_size: int | None = None,
    ) -> None:
        self.data, self.batch_size, self.seed = data, batch_size, seed
        self.img_size = img_size or data.img_size  # a model size other than the data's: resize each batch
        self.mean, self.std, self.padding, self.hflip = mean, std, padding, hflip
        self.shard = shard or Shard()
        n = len(data.y_train)
        if n < batch_size:
            raise ValueError(f"{data.name}: {n} training images are fewer than the batch size {batch_size}")
        self.steps_per_epoch = n // batch_size  # the last partial batch is dropped (every step is a full batch)
        if batch_size % self.shard.world:
            raise ValueError(f"batch_size {batch_size} is not divisible by the {self.shard.world} processes")
        self.local_batch = batch_size // self.shard.world

    def _local(self, t: torch.Tensor) -> torch.Tensor:
        start = self.shard.rank * self.local_batch
        return t[start : start + self.local_batch]

    def train_batch(self, epoch: int, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        order = epoch_permutation(len(self.data.y_train), self.seed, epoch)
        idx = order[step * self.batch_size : (step + 1) * self.batch_size]
        dy, dx, flip = crop_flip_params(
            len(idx), self.padding, self.hflip, generator(self.seed, "augment", epoch, step)
        )
        idx, dy, dx, flip = (self._local(t) for t in (idx, dy, dx, flip))
        x = crop_flip(self.data.x_train[idx], self.padding, dy, dx, flip)
        return self._resize(normalize(x, self.mean, self.std)), self.data.y_train[idx]

    def _resize(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] == self.img_size:
            return x
        return F.interpolate(x, size=(self.img_size, self.img_size), mode="bilinear", align_corners=False)

    def train_epoch(self, epoch: int, start_step: int = 0) -> Iterator[tuple[int, torch.Tensor, torch.Tensor]]:
        for step in range(start_step, self.steps_per_epoch):
            yield (step, *self.train_batch(epoch, step))

    def test_batches(self, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """This rank's contiguous share of the test set, in order (disjoint shares: sums all-reduce)."""
        n = len(self.data.y_test)
        per_rank = -(-n // self.shard.world)
        lo, hi = self.shard.rank * per_rank, min(n, (self.shard.rank + 1) * per_rank)
        for start in range(lo, hi, batch_size):
            end = min(hi, start + batch_size)
            yield (
                self._resize(normalize(self.data.x_test[start:end], self.mean, self.std)),
                self.data.y_test[start:end],
            )
