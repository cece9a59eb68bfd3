"""The model registry and `create_model`: every named variant, its paper figures and its timm counterpart."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import ConfigError, ModelCfg
from .memory_format import ChannelsLast
from .metaformer import MetaFormer
from .paper import PaperFacts
from .registry import Registry

log = logging.getLogger(__name__)
CLASSIFIER = "head.fc."  # the keys a checkpoint for other classes leaves behind

IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
HALF_MEAN, HALF_STD = (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)

# Options every model takes; they change the ModelCfg directly. Everything else goes to the variant function.
COMMON_OPTIONS = (
    "num_classes",
    "in_chans",
    "img_size",
    "drop_rate",
    "drop_path_rate",
    "drop_path_schedule",
    "init",
)
PRESETS = ("official",)  # beside the default (preset=None)


@dataclass(frozen=True)
class ModelEntry:
    name: str
    family: str
    make_cfg: Callable[..., ModelCfg]  # the variant: family options -> config
    paper: PaperFacts
    data_cfg: dict[str, Any] = field(default_factory=dict)  # mean, std, crop_pct, interpolation of its weights
    timm_name: str | None = None  # the same architecture in timm, weight-compatible through `keymap`
    keymap: str | None = None  # name of the timm key map in tokenmix.convert.timm
    official_keymaps: tuple[str, ...] = ()  # key maps of the official releases (tokenmix.convert.official)
    channels_last: ChannelsLast | None = None  # where it runs faster channels_last, measured; None: the default
    # preset="official": the options that reproduce the official code's construction, init and training
    # regularisation (its family file says where each value is from); None: the family declares no such preset
    official: Mapping[str, Any] | None = None

    def preset_options(self, preset: str | None) -> dict[str, Any]:
        """The option defaults of a preset: None (today's defaults, timm's where timm has the model) or "official"."""
        if preset is None:
            return {}
        if preset not in PRESETS:
            raise ConfigError(f"preset must be one of {', '.join(PRESETS)}, got {preset!r}")
        if self.official is None:
            raise ConfigError(f"{self.name} has no official preset; its default is the only configuration")
        return dict(self.official)

    @property
    def keymaps(self) -> tuple[str, ...]:
        """Every foreign key format a checkpoint for this model may come in."""
        return ((self.keymap,) if self.keymap else ()) + self.official_keymaps


MODELS: Registry[ModelEntry] = Registry("model", fill="tokenmix.models")  # the families register on import


def register_model(
    family: str,
    paper: PaperFacts,
    timm_name: str | None = None,
    keymap: str | None = None,
    official_keymaps: tuple[str, ...] = (),
    mean: tuple[float, ...] = IMAGENET_MEAN,
    std: tuple[float, ...] = IMAGENET_STD,
    crop_pct: float = 0.875,
    interpolation: str = "bicubic",
    channels_last: ChannelsLast | None = None,
    official: Mapping[str, Any] | None = None,
) -> Callable[[Callable[..., ModelCfg]], Callable[..., ModelCfg]]:
    """Decorator for a variant function `name(**family_options) -> ModelCfg`; the function name is the model name."""

    def wrap(make_cfg: Callable[..., ModelCfg]) -> Callable[..., ModelCfg]:
        data_cfg = dict(mean=mean, std=std, crop_pct=crop_pct, interpolation=interpolation)
        MODELS.register(
            make_cfg.__name__,
            ModelEntry(
                make_cfg.__name__,
                family,
                make_cfg,
                paper,
                data_cfg,
                timm_name,
                keymap,
                official_keymaps,
                channels_last,
                official,
            ),
        )
        return make_cfg

    return wrap


def list_models(pattern: str | None = None) -> list[str]:
    """Registered model names, optionally filtered by a shell-style pattern ("resmlp_*")."""
    return MODELS.names(pattern)


def model_cfg(name: str, preset: str | None = None, **options: Any) -> ModelCfg:
    """The config `create_model(name, **options)` would build, without building it.

    preset="official": the official code's construction, init and default regularisation (ModelEntry.official);
    options given beside it win over the preset's.
    """
    entry = MODELS.get(name)
    options = {**entry.preset_options(preset), **options}
    common = {k: options.pop(k) for k in COMMON_OPTIONS if k in options}
    accepted = inspect.signature(entry.make_cfg).parameters
    unknown = set(options) - set(accepted)
    if unknown:
        takes = ", ".join(list(COMMON_OPTIONS) + list(accepted))
        raise ConfigError(f"{name} got unknown option(s) {sorted(unknown)}; it takes {takes}")
    return entry.make_cfg(**options).replace(**common)


def create_model(
    name: str, pretrained: bool = False, checkpoint_path: str | None = None, use_ema: bool = False, **options: Any
) -> MetaFormer:
    """Build a registered model; optionally load weights.

    name: a registered name, or a model folder (tokenmix.folder): a Hub-style or training run folder,
    `local-dir:PATH` or `hf_hub:org/name`; its weights' own options are the defaults for `options`.
    checkpoint_path: a .safetensors, .pth/.pt/.bin or (JAX) .npz file (or a folder holding model.safetensors) in
    tokenmix, timm or an official release's key format (pickles are opened with weights_only=True); of a training
    checkpoint its `model` weights, or with use_ema its EMA weights. With img_size other than the checkpoint's,
    token-grid-sized weights are resized (tokenmix.resize); with another num_classes, the classifier is left newly
    initialised. pretrained: download timm's weights for the same architecture.
    """
    from .folder import WEIGHTS, is_folder_name

    if is_folder_name(name):
        return _from_folder(name, pretrained, options)
    if checkpoint_path is not None and is_folder_name(checkpoint_path):
        checkpoint_path = str(Path(checkpoint_path) / WEIGHTS)
    entry = MODELS.get(name)
    if use_ema and checkpoint_path is None:
        raise ConfigError("use_ema chooses the EMA weights of a training checkpoint: give checkpoint_path too")
    cfg, state_dict, new_head = model_cfg(name, **options), None, False
    if checkpoint_path is not None:  # read first: a checkpoint at another resolution can widen token MLPs
        from .checkpoint import read_state_dict, to_tokenmix_keys
        from .counting import meta_model
        from .resize import fit_config

        probe = meta_model(cfg)  # the keys and token grids of the model as configured, without its memory
        source = f"checkpoint {checkpoint_path}"
        state_dict = to_tokenmix_keys(read_state_dict(checkpoint_path, probe, use_ema), probe, entry.keymaps, source)
        new_head = "num_classes" in options and _classifier_differs(state_dict, probe)
        if new_head:  # fine-tuning onto other classes, as timm does
            log.warning("%s: classifier is for another class count; a new one for %d classes", source, cfg.num_classes)
            state_dict = {k: v for k, v in state_dict.items() if not k.startswith(CLASSIFIER)}
        cfg = fit_config(probe, state_dict)
    model = MetaFormer(cfg)
    model.pretrained_cfg = dict(
        architecture=name,
        input_size=(model.in_chans, model.img_size, model.img_size),
        fixed_input_size=model.fixed_input_size,
        num_classes=model.num_classes,
        first_conv="stem.proj" if hasattr(model.stem, "proj") else "stem.conv",
        classifier="head.fc",
        **entry.data_cfg,
    )
    model.paper = entry.paper
    model.channels_last = entry.channels_last
    if pretrained:
        load_timm_pretrained(model, entry)
    if state_dict is not None:
        from .checkpoint import load_state_dict_into
        from .resize import fit_weights

        if new_head:
            state_dict.update({k: v for k, v in model.state_dict().items() if k.startswith(CLASSIFIER)})
        load_state_dict_into(model, fit_weights(model, state_dict), f"checkpoint {checkpoint_path}")
    return model


def _classifier_differs(state_dict: dict[str, Any], probe: MetaFormer) -> bool:
    ours = probe.state_dict()
    head = [k for k in state_dict if k.startswith(CLASSIFIER)]
    return any(k not in ours or state_dict[k].shape != ours[k].shape for k in head)


def _from_folder(name: str, pretrained: bool, options: dict[str, Any]) -> MetaFormer:
    from .folder import read_folder

    folder = read_folder(name)
    arch = _by_timm_name(folder.architecture) if folder.timm_architecture else folder.architecture
    model = create_model(arch, pretrained, checkpoint_path=str(folder.weights), **{**folder.options, **options})
    if folder.label_names and len(folder.label_names) == model.num_classes:
        model.pretrained_cfg["label_names"] = list(folder.label_names)
    return model


def _by_timm_name(timm_name: str) -> str:
    for name in MODELS.names():
        if MODELS.get(name).timm_name == timm_name:
            return name
    raise ConfigError(f"the model folder is for timm's {timm_name}, which no tokenmix model implements")


def load_timm_pretrained(model: MetaFormer, entry: ModelEntry) -> None:
    """Download timm's pretrained weights for the same architecture (needs network access) and convert them."""
    from .checkpoint import CheckpointError, load_state_dict_into, to_tokenmix_keys

    if entry.timm_name is None:
        raise CheckpointError(f"{entry.name} has no timm counterpart with pretrained weights; pass checkpoint_path")
    import timm

    reference = timm.create_model(entry.timm_name, pretrained=True, num_classes=model.num_classes)
    source = f"timm weights {entry.timm_name}"
    load_state_dict_into(model, to_tokenmix_keys(reference.state_dict(), model, entry.keymaps, source), source)
