"""Data sets for training and evaluation. Small images live in memory (ImageArrays, batch augmentation);
image folders are decoded per sample with timm's transforms. `open_data` picks the path by name."""

from __future__ import annotations

from pathlib import Path

from ..registry import Registry
from .arrays import ImageArrays
from .batches import ArrayBatches, Shard
from .imagefolder import FolderBatches

# name -> loader(root, download) -> ImageArrays; "imagefolder" is the one data set that is not in memory.
IN_MEMORY: Registry = Registry("data set")


def _register(name: str):
    return IN_MEMORY.decorator(name)


@_register("digits")
def _digits(root: str | None, download: bool) -> ImageArrays:
    from .digits import load_digits_arrays

    return load_digits_arrays()


@_register("cifar10")
def _cifar10(root: str | None, download: bool) -> ImageArrays:
    from .cifar import load_cifar

    return load_cifar("cifar10", root, download)


@_register("cifar100")
def _cifar100(root: str | None, download: bool) -> ImageArrays:
    from .cifar import load_cifar

    return load_cifar("cifar100", root, download)


@_register("fashion_mnist")
def _fashion_mnist(root: str | None, download: bool) -> ImageArrays:
    from .fashion_mnist import load_fashion_mnist

    return load_fashion_mnist(root)


@_register("npz")
def _npz(root: str | None, download: bool) -> ImageArrays:
    from .npz import load_npz

    if root is None:
        raise ValueError("npz needs --data-dir pointing to the .npz file")
    return load_npz(Path(root))


DATA_SETS = (*IN_MEMORY.names(), "imagefolder")


def load_arrays(name: str, root: str | None = None, download: bool = False) -> ImageArrays:
    return IN_MEMORY.get(name)(root, download)


__all__ = ["DATA_SETS", "ArrayBatches", "FolderBatches", "ImageArrays", "Shard", "load_arrays"]
