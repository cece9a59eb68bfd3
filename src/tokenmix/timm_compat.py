"""Every tokenmix model in timm's registry, so that timm's factory and scripts (train.py, validate.py,
benchmark.py) build them unchanged:

    import tokenmix.timm_compat  # registers on import; tokenmix.timm_compat.register() again is a no-op
    model = timm.create_model("tokenmix_resmlp_12_224", num_classes=10, drop_path_rate=0.1)
    python train.py --model tokenmix_poolformer_s12 ...   # with `import tokenmix.timm_compat` added, or -m

The prefix is `tokenmix_`: timm's parser splits a name at its first "." (the pretrained tag) and ":" (the source),
so neither can be part of it, and no timm model name starts with "tokenmix".
"""

from __future__ import annotations

from typing import Any

from torch import nn

from .factory import MODELS, create_model
from .metaformer import MetaFormer

PREFIX = "tokenmix_"

# timm's create_model passes these to every entrypoint; they are for the builder, not for the model
BUILDER_ARGS = ("cache_dir", "pretrained_model_args")


def timm_name(name: str) -> str:
    return PREFIX + name


def build(
    name: str,
    pretrained: bool = False,
    features_only: bool = False,
    out_indices: int | tuple[int, ...] | None = None,
    pretrained_cfg_overlay: dict[str, Any] | None = None,
    global_pool: str | None = None,
    img_size: int | tuple[int, int] | None = None,
    **options: Any,
) -> nn.Module:
    """The model timm.create_model("tokenmix_<name>", ...) builds: timm's factory arguments on top of
    tokenmix's create_model options (an unknown one is an error naming it)."""
    for key in BUILDER_ARGS:
        options.pop(key, None)
    pretrained_cfg = options.pop("pretrained_cfg", None)
    folder = _folder(pretrained_cfg) if pretrained else None
    if img_size is not None:
        options["img_size"] = img_size if isinstance(img_size, int) else _side(img_size)
    if folder is not None:  # timm.create_model("local-dir:DIR" or "hf-hub:org/name") of a tokenmix folder
        model = create_model(folder, **options)
    else:
        model = create_model(name, pretrained=pretrained, **options)
    if global_pool is not None and global_pool != model.head.pool_kind:
        model.reset_classifier(model.num_classes, global_pool)
    model.pretrained_cfg = {**model.pretrained_cfg, **(pretrained_cfg_overlay or {})}
    model.register_load_state_dict_pre_hook(_foreign_keys_to_ours)
    if features_only:
        return features(model, out_indices)
    return model


def features(model: MetaFormer, out_indices: int | tuple[int, ...] | None = None) -> nn.Module:
    """timm's FeatureGetterNet around the model: forward returns the taps' feature maps (NCHW). Default taps:
    every stage of a hierarchical model, the last 3 blocks of a one-stage one (as timm's ViT)."""
    from timm.models._features import FeatureGetterNet

    if out_indices is None:
        out_indices = tuple(range(len(model.stages))) if len(model.stages) > 1 else 3
    wrapped = FeatureGetterNet(model, out_indices=out_indices)
    wrapped.pretrained_cfg = wrapped.default_cfg = model.pretrained_cfg
    return wrapped


def _foreign_keys_to_ours(model: MetaFormer, state_dict: dict[str, Any], prefix: str, *_: Any) -> None:
    """timm's load_checkpoint (create_model's checkpoint_path, validate.py's --checkpoint) loads a state dict into
    the model as it is; one in timm's or an official release's keys is converted to ours first."""
    from .checkpoint import to_tokenmix_keys

    if prefix:  # the model inside another module: leave the keys to that module's owner
        return
    entry = MODELS.get(model.pretrained_cfg["architecture"])
    converted = to_tokenmix_keys(dict(state_dict), model, entry.keymaps, "state dict")
    state_dict.clear()
    state_dict.update(converted)


def _folder(pretrained_cfg: Any) -> str | None:
    """The model folder timm resolved `local-dir:` or `hf-hub:` to, as a tokenmix folder name; None otherwise."""
    cfg = pretrained_cfg.to_dict() if hasattr(pretrained_cfg, "to_dict") else pretrained_cfg
    if not isinstance(cfg, dict):
        return None
    if cfg.get("source") == "local-dir":
        return f"local-dir:{cfg['file']}"
    if cfg.get("source") == "hf-hub":
        return f"hf_hub:{cfg['hf_hub_id']}"
    return None


def _side(size: tuple[int, int]) -> int:
    if size[0] != size[1]:
        raise ValueError(f"tokenmix models take square images, got img_size {tuple(size)}")
    return int(size[0])


def _entrypoint(name: str) -> Any:
    def entrypoint(pretrained: bool = False, **kwargs: Any) -> nn.Module:
        return build(name, pretrained=pretrained, **kwargs)

    entrypoint.__name__ = entrypoint.__qualname__ = timm_name(name)
    entrypoint.__module__ = __name__
    entrypoint.__doc__ = f"tokenmix {name} ({MODELS.get(name).family})"
    return entrypoint


# timm's registry reads each entrypoint's pretrained cfg from its module's `default_cfgs` (what
# timm.data.resolve_data_config falls back to before a model exists)
default_cfgs: dict[str, dict[str, Any]] = {}


def _default_cfg(name: str) -> dict[str, Any]:
    cfg = MODELS.get(name).make_cfg()
    size = (cfg.in_chans, cfg.img_size, cfg.img_size)
    return dict(input_size=size, num_classes=cfg.num_classes, classifier="head.fc", **MODELS.get(name).data_cfg)


def register() -> list[str]:
    """Register every tokenmix model with timm (once); returns the timm names."""
    from timm.models import is_model, register_model

    names = [timm_name(n) for n in MODELS.names()]
    for name in MODELS.names():
        if not is_model(timm_name(name)):
            default_cfgs[timm_name(name)] = _default_cfg(name)
            register_model(_entrypoint(name))
    return names


register()
