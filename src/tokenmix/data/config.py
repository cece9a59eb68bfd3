"""What data loading needs to know, and nothing else: the data set, its input shape and normalisation, the
batch size and the augmentation. The training config maps onto it (train.config.data_cfg); `tokenmix eval`
and other readers build one directly, without a training config. Field names are the training config's."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DataCfg:
    data: str = "digits"  # a registered in-memory data set or "imagefolder"
    data_dir: str | None = None  # directory (or .npz file) of the data set
    download: bool = False  # cifar10/100: fetch the archive when the directory lacks it
    model: str = "convmixer_digits"  # the model's mean/std and interpolation when normalize="model"
    img_size: int | None = None  # None: the data set's (image folders: median shorter side, at most the model's)
    in_chans: int | None = None  # None: the data set's; set it to assert what the data must have
    normalize: str = "data"  # "data": the training set's mean/std; "model": the model's
    batch_size: int = 64  # global, over all ranks
    seed: int = 0  # batch order and augmentation are functions of (seed, epoch, step)
    crop_padding: int = 0  # small images: random crop after zero padding by this much
    hflip: float = 0.0  # probability of a horizontal flip
    auto_augment: str | None = None  # image folders: timm RandAugment spec
    reprob: float = 0.0  # image folders: RandomErasing probability
    workers: int = 0  # image folders: DataLoader worker processes
