"""Hugging Face Hub-style model folders: `save_pretrained` / `from_pretrained` / `push_to_hub`.

A folder holds `model.safetensors` (its metadata: the tokenmix model name and config, the class names) and
timm's `config.json` (architecture, num_classes, label_names, pretrained_cfg with mean, std, input size), so
that timm reads it too. A model timm has in the same configuration is saved in timm's keys under timm's
architecture name: `timm.create_model("local-dir:DIR")` (or "hf-hub:org/name") then builds timm's own model
with these weights. Any other is saved in tokenmix keys as "tokenmix_<name>", which timm builds after
`import tokenmix.timm_compat`. Either way `from_pretrained` (and `create_model(DIR)`) rebuilds the tokenmix model.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from safetensors.torch import save_file

from .factory import COMMON_OPTIONS, MODELS, create_model, model_cfg
from .folder import CONFIG, WEIGHTS
from .metaformer import MetaFormer

PRETRAINED_CFG_KEYS = ("input_size", "fixed_input_size", "interpolation", "crop_pct", "mean", "std", "first_conv")


def from_pretrained(source: str | os.PathLike[str], **options: Any) -> MetaFormer:
    """The model of a folder, `local-dir:PATH` or `hf_hub:org/name[@revision]`; options as create_model's (another
    num_classes starts a new classifier)."""
    return create_model(str(source), **options)


def in_timm_layout(model: MetaFormer) -> bool:
    """True when timm has this model as configured (its class count, input channels, size and drop rates aside)."""
    name = model.pretrained_cfg["architecture"]
    entry = MODELS.get(name)
    if entry.timm_name is None or entry.keymap is None:
        return False
    return model.cfg == model_cfg(name, **{k: getattr(model.cfg, k) for k in COMMON_OPTIONS})


def save_pretrained(model: MetaFormer, folder: str | os.PathLike[str], label_names: list[str] | None = None) -> Path:
    """Write `model.safetensors` and `config.json` into `folder` (created); returns it."""
    from .convert import from_tokenmix

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    name = model.pretrained_cfg["architecture"]
    entry = MODELS.get(name)
    labels = label_names or model.pretrained_cfg.get("label_names")
    timm_layout = in_timm_layout(model)
    tensors = {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()}
    if timm_layout:
        tensors = from_tokenmix(tensors, entry.keymap)
    metadata = {"format": "pt", "architecture": name, "config": model.cfg.to_json()}
    if labels:
        metadata["classes"] = json.dumps(list(labels))
    save_file(tensors, str(folder / WEIGHTS), metadata=metadata)
    (folder / CONFIG).write_text(json.dumps(timm_config(model, timm_layout, labels), indent=2) + "\n")
    return folder


def timm_config(model: MetaFormer, timm_layout: bool, labels: list[str] | None) -> dict[str, Any]:
    """timm's config.json for the folder (the fields timm.models.load_model_config_from_path reads)."""
    name = model.pretrained_cfg["architecture"]
    pretrained_cfg = {k: model.pretrained_cfg[k] for k in PRETRAINED_CFG_KEYS if k in model.pretrained_cfg}
    pretrained_cfg.update(num_classes=model.num_classes, classifier="head.fc")
    if timm_layout:  # timm's names for its first conv and classifier
        from timm.models import get_pretrained_cfg

        theirs = get_pretrained_cfg(MODELS.get(name).timm_name)
        pretrained_cfg.update(first_conv=theirs.first_conv, classifier=theirs.classifier)
    config = dict(
        architecture=MODELS.get(name).timm_name if timm_layout else f"tokenmix_{name}",
        num_classes=model.num_classes,
        num_features=model.num_features,
        pretrained_cfg=pretrained_cfg,
        model_args=dict(in_chans=model.in_chans),
    )
    if labels:
        config["label_names"] = list(labels)
    return config


def push_to_hub(
    model: MetaFormer,
    repo_id: str,
    label_names: list[str] | None = None,
    private: bool | None = None,
    token: str | None = None,
    commit_message: str = "Add tokenmix model",
) -> str:
    """save_pretrained into a temporary folder and upload it to the Hub repository (created if missing);
    returns the commit URL."""
    from huggingface_hub import HfApi

    api = HfApi(token=token)
    api.create_repo(repo_id, private=private, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        save_pretrained(model, tmp, label_names)
        return str(api.upload_folder(repo_id=repo_id, folder_path=tmp, commit_message=commit_message))
