"""A data set small enough to live in memory: uint8 image tensors plus labels, split into train and test.

Every small-image loader (digits, CIFAR, Fashion-MNIST, npz) returns one of these; augmentation then runs on
whole batches of the tensor (tokenmix.data.augment) instead of per image in worker processes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class ImageArrays:
    name: str
    x_train: torch.Tensor  # (N, C, H, W) uint8
    y_train: torch.Tensor  # (N,) int64
    x_test: torch.Tensor  # (M, C, H, W) uint8
    y_test: torch.Tensor  # (M,) int64
    classes: tuple[str, ...]

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def in_chans(self) -> int:
        return self.x_train.shape[1]

    @property
    def img_size(self) -> int:
        return self.x_train.shape[2]

    def channel_stats(self) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """Per-channel mean and std of the training images in [0, 1] (the normalisation "data" uses)."""
        x = self.x_train.double().div_(255).transpose(0, 1).reshape(self.in_chans, -1)
        return tuple(x.mean(1).tolist()), tuple(x.std(1).clamp_min(1e-6).tolist())


def from_numpy(
    name: str,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    classes: list[str] | None = None,
) -> ImageArrays:
    """Check NHWC (or NHW for grey) uint8 arrays and integer labels, and convert them to NCHW tensors."""
    xs = {"x_train": x_train, "x_test": x_test}
    ys = {"y_train": y_train, "y_test": y_test}
    for key, x in xs.items():
        if x.dtype != np.uint8:
            raise ValueError(f"{name}: expected {key} of dtype uint8, got {x.dtype}")
        if x.ndim == 3:  # grey images without a channel axis
            xs[key] = x = x[..., None]
        if x.ndim != 4 or x.shape[-1] not in (1, 3) or x.shape[1] != x.shape[2]:
            raise ValueError(f"{name}: expected {key} of shape (N, H, W, C) with H == W and C in (1, 3), got {x.shape}")
        if len(x) == 0:
            raise ValueError(f"{name}: {key} is empty (0 images)")
    if xs["x_train"].shape[1:] != xs["x_test"].shape[1:]:
        raise ValueError(f"{name}: train images are {xs['x_train'].shape[1:]}, test images {xs['x_test'].shape[1:]}")
    for x, (ykey, y) in zip(xs.values(), ys.items(), strict=True):
        if y.ndim != 1 or len(y) != len(x) or not np.issubdtype(y.dtype, np.integer):
            raise ValueError(f"{name}: expected {ykey} of {len(x)} integer labels, got {y.dtype} {y.shape}")
    num_classes = check_labels(name, ys, classes)
    names = tuple(str(c) for c in classes) if classes is not None else tuple(str(i) for i in range(num_classes))
    to_nchw = lambda x: torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    to_labels = lambda y: torch.from_numpy(y.astype(np.int64))
    return ImageArrays(
        name, to_nchw(xs["x_train"]), to_labels(y_train), to_nchw(xs["x_test"]), to_labels(y_test), names
    )


def check_labels(name: str, ys: dict[str, np.ndarray], classes: list[str] | None) -> int:
    """The number of classes: the stated one (labels must lie in 0..K-1), or without class names the K of
    labels that are exactly 0..K-1 (so a stray 255 cannot silently make a 256-class model)."""
    if classes is not None:
        k = len(classes)
        if k < 2:
            raise ValueError(f"{name}: expected at least 2 classes, got {k}")
        for key, y in ys.items():
            bad = np.flatnonzero((y < 0) | (y >= k))
            if bad.size:
                raise ValueError(
                    f"{name}: {key}[{bad[0]}] is label {y[bad[0]]}, but the data set states {k} classes "
                    f"(labels 0..{k - 1}); {bad.size} label(s) out of range"
                )
        return k
    present = np.unique(np.concatenate([y.astype(np.int64) for y in ys.values()]))
    k = len(present)
    if k < 2:
        raise ValueError(f"{name}: expected at least 2 classes, got labels {present.tolist()}")
    if present[0] != 0 or present[-1] != k - 1:
        gap = int(np.flatnonzero(present != np.arange(k))[0])
        raise ValueError(
            f"{name}: without class names, labels must be 0..K-1 with each class present; got {k} distinct labels "
            f"from {present[0]} to {present[-1]} (first missing: {gap}); state the classes to use sparse labels"
        )
    return k
