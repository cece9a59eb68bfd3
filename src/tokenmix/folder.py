"""Model folders: a Hub-style folder (timm's `config.json` beside `model.safetensors`), a training run folder,
or a Hub repository (`hf_hub:org/name[@revision]`, downloaded into huggingface_hub's cache). What create_model
needs from one: the weights file, the model they are for, its options and the class names.

The model is named by the weights' own metadata (tokenmix.checkpoint.save_weights, training): architecture and
config. A folder without it (one of timm's own) is named by its config.json's timm architecture.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .checkpoint import CheckpointError, model_options, read_metadata

WEIGHTS, CONFIG = "model.safetensors", "config.json"
HUB_PREFIXES = ("hf_hub:", "hf-hub:")
LOCAL_PREFIX = "local-dir:"


@dataclass(frozen=True)
class Folder:
    weights: Path
    architecture: str  # a tokenmix model name, or timm's architecture when `timm_architecture`
    timm_architecture: bool
    options: dict[str, Any] = field(default_factory=dict)  # num_classes, in_chans, img_size of the weights
    label_names: list[str] | None = None


def is_folder_name(name: str | os.PathLike[str]) -> bool:
    name = str(name)
    return name.startswith((*HUB_PREFIXES, LOCAL_PREFIX)) or Path(name).is_dir()


def local_folder(name: str | os.PathLike[str]) -> Path:
    """The folder on disk: downloaded first for a Hub name."""
    name = str(name)
    for prefix in HUB_PREFIXES:
        if name.startswith(prefix):
            return download(name.removeprefix(prefix))
    path = Path(name.removeprefix(LOCAL_PREFIX))
    if not (path / WEIGHTS).is_file():
        raise CheckpointError(f"model folder {path} has no {WEIGHTS}")
    return path


def download(repo: str) -> Path:
    """`org/name[@revision]` from the Hugging Face Hub (its config and weights only), through its cache."""
    from huggingface_hub import snapshot_download

    repo_id, _, revision = repo.partition("@")
    return Path(snapshot_download(repo_id, revision=revision or None, allow_patterns=[CONFIG, WEIGHTS]))


def read_folder(name: str | os.PathLike[str]) -> Folder:
    path = local_folder(name)
    weights = path / WEIGHTS
    meta = read_metadata(weights)
    hub = _timm_config(path / CONFIG)
    labels = meta.get("classes") or hub.get("label_names")
    if meta.get("architecture") and "config" in meta:
        return Folder(weights, meta["architecture"], False, model_options(weights, meta), labels)
    if "architecture" in hub:
        options = {k: v for k, v in (("num_classes", hub.get("num_classes")),) if v is not None}
        options.update({k: v for k, v in hub.get("model_args", {}).items() if k == "in_chans"})
        return Folder(weights, hub["architecture"], True, options, labels)
    raise CheckpointError(f"model folder {path}: neither the metadata of {WEIGHTS} nor a {CONFIG} names its model")


def _timm_config(path: Path) -> dict[str, Any]:
    """timm's config.json, {} without one (a training run's config.json is its training config, no model's)."""
    if not path.is_file():
        return {}
    try:
        config = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{path} is not JSON ({e})") from None
    return config if isinstance(config, dict) and "pretrained_cfg" in config else {}
