"""From a data config to batches: pick the in-memory or the image-folder path, the normalisation and the
input shape the model must be built for."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..factory import MODELS, model_cfg
from . import DATA_SETS, ArrayBatches, FolderBatches, Shard, load_arrays
from .config import DataCfg
from .imagefolder import typical_side


@dataclass(frozen=True)
class DataInfo:
    name: str
    num_classes: int
    in_chans: int
    img_size: int
    classes: tuple[str, ...]
    mean: tuple[float, ...]
    std: tuple[float, ...]
    num_train: int
    num_test: int


def model_mean_std(model: str, in_chans: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    data_cfg = MODELS.get(model).data_cfg
    mean, std = tuple(data_cfg["mean"]), tuple(data_cfg["std"])
    if len(mean) == 1:  # a grey model's statistics apply to every channel
        mean, std = mean * in_chans, std * in_chans
    if len(mean) != in_chans:
        if in_chans != 1:
            raise ValueError(f"model {model} normalises {len(mean)} channels, the data has {in_chans}")
        mean, std = (sum(mean) / len(mean),), (sum(std) / len(std),)  # grey images: the channel average
    return mean, std


def check_channels(cfg: DataCfg, name: str, in_chans: int) -> None:
    if cfg.in_chans is not None and cfg.in_chans != in_chans:
        raise ValueError(f"expected {cfg.in_chans}-channel images (in_chans={cfg.in_chans}), {name} has {in_chans}")


def open_data(cfg: DataCfg, shard: Shard | None = None) -> tuple[Any, DataInfo]:
    """(batches, info): batches has steps_per_epoch, train_epoch(epoch, start_step) and test_batches(n)."""
    if cfg.data not in DATA_SETS:
        raise ValueError(f"unknown data set {cfg.data!r}; known: {', '.join(DATA_SETS)}")
    MODELS.get(cfg.model)  # an unknown model fails before any data is read
    if cfg.data == "imagefolder":
        return _open_folder(cfg, shard)
    arrays = load_arrays(cfg.data, cfg.data_dir, cfg.download)
    check_channels(cfg, arrays.name, arrays.in_chans)
    if cfg.normalize == "data":
        mean, std = arrays.channel_stats()
    else:
        mean, std = model_mean_std(cfg.model, arrays.in_chans)
    img_size = cfg.img_size or arrays.img_size
    batches = ArrayBatches(arrays, cfg.batch_size, cfg.seed, mean, std, cfg.crop_padding, cfg.hflip, shard, img_size)
    info = DataInfo(
        arrays.name,
        arrays.num_classes,
        arrays.in_chans,
        img_size,
        arrays.classes,
        mean,
        std,
        len(arrays.y_train),
        len(arrays.y_test),
    )
    return batches, info


def _open_folder(cfg: DataCfg, shard: Shard | None) -> tuple[FolderBatches, DataInfo]:
    from timm.data import create_transform

    check_channels(cfg, "imagefolder", 3)  # every image is converted to RGB
    batches = FolderBatches(cfg.data_dir, None, None, cfg.batch_size, cfg.seed, cfg.workers, shard)
    # None: the images' own size, up to the model's (smaller photos are not upsampled to 224)
    img_size = cfg.img_size or typical_side(batches.train.samples, limit=model_cfg(cfg.model).img_size)
    mean, std = model_mean_std(cfg.model, 3)  # "data": statistics of a folder would need a pass over it
    data_cfg = MODELS.get(cfg.model).data_cfg
    common = dict(input_size=(3, img_size, img_size), mean=mean, std=std, interpolation=data_cfg["interpolation"])
    batches.train.transform = create_transform(
        is_training=True, auto_augment=cfg.auto_augment, re_prob=cfg.reprob, hflip=cfg.hflip, **common
    )
    batches.test.transform = create_transform(is_training=False, crop_pct=data_cfg["crop_pct"], **common)
    info = DataInfo(
        "imagefolder",
        len(batches.classes),
        3,
        img_size,
        tuple(batches.classes),
        mean,
        std,
        len(batches.train),
        len(batches.test),
    )
    return batches, info
