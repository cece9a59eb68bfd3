"""A folder of class sub-folders of images (ImageNet layout): DIR/train/<class>/*.jpg and DIR/val/<class>/*
(or DIR/test/). Decoded lazily, per image, and augmented with timm's create_transform.

A file that cannot be decoded is skipped and reported, never a crash: unlike timm's ImageDataset, which guards
only the lazy `Image.open`, the guard here covers the decode and the RGB conversion, where a truncated JPEG
actually fails. In training the next image takes its place (the batch keeps its size); in evaluation it is
left out and counted, so no image is scored twice.

Each sample's transform is seeded from (seed, epoch, index), so augmentation is reproducible and a resume
mid-epoch repeats it exactly, with or without worker processes. Worker processes start once and serve every
epoch and evaluation (persistent workers: a fresh DataLoader per epoch would re-fork them and re-pickle the
file list each time); batches are pinned when a CUDA device is present, so the copy to it can overlap.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Iterator
from pathlib import Path

import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset, Sampler, default_collate

from .batches import Shard
from .images import ImageError, open_image
from .seeds import derive_seed, epoch_permutation

EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".gif", ".tif", ".tiff", ".webp"}
MAX_SKIPS_IN_A_ROW = 20


def scan(split_dir: Path, classes: list[str] | None = None) -> tuple[list[tuple[Path, int]], list[str]]:
    """(path, label) of every image file under split_dir/<class>/, classes sorted by name."""
    if not split_dir.is_dir():
        raise FileNotFoundError(f"image folder {split_dir} does not exist")
    found = sorted(p.name for p in split_dir.iterdir() if p.is_dir())
    classes = classes or found
    if len(classes) < 2:
        raise ValueError(f"image folder {split_dir}: expected at least 2 class sub-folders, got {len(classes)}")
    samples = [
        (p, label)
        for label, name in enumerate(classes)
        if (split_dir / name).is_dir()
        for p in sorted((split_dir / name).rglob("*"))
        if p.suffix.lower() in EXTENSIONS
    ]
    if not samples:
        raise ValueError(f"image folder {split_dir} is empty: no {'/'.join(sorted(EXTENSIONS))} files in its classes")
    return samples, classes


def split_dirs(root: str | Path | None) -> tuple[Path, Path]:
    if root is None:
        raise ValueError("imagefolder needs --data-dir (a directory with train/ and val/ or test/)")
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"image folder {root} does not exist")
    test = next((root / d for d in ("val", "test") if (root / d).is_dir()), None)
    if not (root / "train").is_dir() or test is None:
        raise ValueError(f"image folder {root}: expected sub-folders train/ and val/ (or test/)")
    return root / "train", test


def typical_side(samples: list[tuple[Path, int]], limit: int, probe: int = 64) -> int:
    """The median shorter side of up to `probe` images spread over `samples` (headers only, no decode), at most
    `limit`: 64-px photos then train at 64 px, not blown up to a model's 224 (14x the pixels)."""
    sides = []
    for path, _ in samples[:: max(1, len(samples) // probe)][:probe]:
        try:
            with Image.open(path) as image:
                sides.append(min(image.size))
        except (OSError, ValueError, Image.DecompressionBombError):
            continue  # an unreadable file is the loader's to report
    return min(limit, int(statistics.median(sides))) if sides else limit


def decode(path: Path) -> Image.Image | None:
    """The image as RGB, or None when it cannot be decoded (corrupt, truncated, not an image, a bomb)."""
    try:
        return open_image(path, channels=3)
    except ImageError:
        return None


class FolderImages(Dataset):
    """Indexed by (index, sample_seed); returns (image tensor, label, paths skipped to get there).

    replace_unreadable: an unreadable image is replaced by the next readable one (training). Otherwise
    (evaluation) it comes back as (None, -1, its path) and `collate_readable` leaves it out of the batch."""

    def __init__(self, samples: list[tuple[Path, int]], transform, replace_unreadable: bool = True) -> None:
        self.samples, self.transform, self.replace_unreadable = samples, transform, replace_unreadable

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, key: tuple[int, int]) -> tuple[torch.Tensor | None, int, str]:
        index, sample_seed = key
        skipped = []
        for k in range(MAX_SKIPS_IN_A_ROW if self.replace_unreadable else 1):
            path, label = self.samples[(index + k) % len(self.samples)]
            image = decode(path)
            if image is not None:
                return self._transform(image, sample_seed), label, "\n".join(skipped)
            skipped.append(str(path))
        if not self.replace_unreadable:
            return None, -1, skipped[0]
        raise ValueError(f"{MAX_SKIPS_IN_A_ROW} unreadable images in a row, from {skipped[0]}")

    def _transform(self, image: Image.Image, sample_seed: int) -> torch.Tensor:
        # timm's transforms draw from python's `random` and torch's global generator: seed both for this
        # sample and restore them, so the training RNG (dropout, drop path) is left untouched.
        state = random.getstate()
        with torch.random.fork_rng(devices=[]):
            random.seed(sample_seed)
            torch.manual_seed(sample_seed)
            out = self.transform(image)
        random.setstate(state)
        return out


def collate_readable(items: list[tuple[torch.Tensor | None, int, str]]):
    """(images, labels, skipped paths) of the readable items; (None, None, paths) when none is readable."""
    skipped = [path for image, _, path in items if image is None]
    readable = [(image, label) for image, label, _ in items if image is not None]
    if not readable:
        return None, None, skipped
    x, y = default_collate(readable)
    return x, y, skipped


class NextBatches(Sampler):
    """A batch sampler whose batches are set before each pass: one persistent DataLoader serves every epoch."""

    def __init__(self) -> None:
        self.batches: list[list[tuple[int, int]]] = []

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        return iter(self.batches)

    def __len__(self) -> int:
        return len(self.batches)


class FolderBatches:
    """The DataLoader path for large images, with the same interface as ArrayBatches."""

    def __init__(
        self,
        root: str | Path | None,
        train_transform,
        test_transform,
        batch_size: int,
        seed: int,
        workers: int = 0,
        shard: Shard | None = None,
    ) -> None:
        train_dir, test_dir = split_dirs(root)
        train, self.classes = scan(train_dir)
        test, _ = scan(test_dir, self.classes)
        self.train = FolderImages(train, train_transform)
        self.test = FolderImages(test, test_transform, replace_unreadable=False)
        self.batch_size, self.seed, self.workers = batch_size, seed, workers
        self.shard = shard or Shard()
        if len(train) < batch_size:
            raise ValueError(
                f"image folder {train_dir}: {len(train)} images are fewer than the batch size {batch_size}"
            )
        self.steps_per_epoch = len(train) // batch_size
        self.local_batch = batch_size // self.shard.world
        self.skipped: set[str] = set()  # every unreadable file met, in training or evaluation
        self.test_skipped: set[str] = set()  # the evaluation images left out
        self._loaders: dict[FolderImages, tuple[DataLoader, NextBatches]] = {}

    def _loader(self, dataset: FolderImages, batches: list[list[tuple[int, int]]]) -> DataLoader:
        """The dataset's one DataLoader (its workers outlive each pass), set to yield `batches` next."""
        if dataset not in self._loaders:
            sampler = NextBatches()
            collate = None if dataset.replace_unreadable else collate_readable
            loader = DataLoader(dataset, batch_sampler=sampler, num_workers=self.workers, collate_fn=collate,
                                persistent_workers=self.workers > 0, pin_memory=torch.cuda.is_available())  # fmt: skip
            self._loaders[dataset] = loader, sampler
        loader, sampler = self._loaders[dataset]
        sampler.batches = batches
        return loader

    def _collect(self, skipped: list[str]) -> None:
        self.skipped.update(p for s in skipped if s for p in s.split("\n"))

    def train_epoch(self, epoch: int, start_step: int = 0) -> Iterator[tuple[int, torch.Tensor, torch.Tensor]]:
        order = epoch_permutation(len(self.train), self.seed, epoch).tolist()
        lo = self.shard.rank * self.local_batch
        batches = []
        for step in range(start_step, self.steps_per_epoch):
            idx = order[step * self.batch_size : (step + 1) * self.batch_size][lo : lo + self.local_batch]
            batches.append([(i, derive_seed(self.seed, "sample", epoch, i)) for i in idx])
        for step, (x, y, skipped) in enumerate(self._loader(self.train, batches), start=start_step):
            self._collect(skipped)
            yield step, x, y

    def test_batches(self, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = len(self.test)
        per_rank = -(-n // self.shard.world)
        lo, hi = self.shard.rank * per_rank, min(n, (self.shard.rank + 1) * per_rank)
        batches = [[(i, 0) for i in range(s, min(hi, s + batch_size))] for s in range(lo, hi, batch_size)]
        for x, y, skipped in self._loader(self.test, batches):
            self._collect(skipped)
            self.test_skipped.update(skipped)
            if x is not None:
                yield x, y
