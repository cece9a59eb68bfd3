"""ResMLP (Touvron et al. 2021, "ResMLP: Feedforward networks for image classification with data-efficient
training", arXiv 2105.03404).

Mixer with a single Linear(N, N) across patches, Affine (x * a + b, no statistics) instead of LayerNorm, and
LayerScale on both branches.

Defaults follow timm (weight-compatible with its resmlp_* models), which differs from the official code only in
training-from-scratch details: ResMLP-S12's LayerScale starts at 1e-4 in timm but 0.1 officially
(layer_scale=0.1), and timm initialises like its Mixer (init="trunc_normal_linear" gives the official
trunc_normal(0.02)). The official checkpoints' keys load through tokenmix.convert.
"""

from __future__ import annotations

from ..config import HeadCfg, ModelCfg, StageCfg, part
from ..factory import register_model
from ..paper import PaperFacts


def resmlp(depth: int, dim: int, patch: int, layer_scale: float) -> ModelCfg:
    affine = part("affine")
    stage = StageCfg(
        depth=depth,
        dim=dim,
        mixer=part("linear_tokens"),
        norm=affine,
        mlp=part("mlp", ratio=4.0),
        layer_scale=layer_scale,
    )
    return ModelCfg(
        stem=part("patch", patch_size=patch),
        stages=(stage,),
        head=HeadCfg(pool="avg", feature_norm=affine),
        drop_path_schedule="constant",  # official code and timm: dpr = [drop_path_rate] * depth
        init="timm_mixer",
    )


_SRC = "ResMLP paper Table 3 (≈ transcribed; FLOPs column = MACs) and PoolFormer paper Table 2 ✔"
_reg = dict(family="resmlp", keymap="resmlp", official_keymaps=("resmlp_official",))


def official(layer_scale: float) -> dict:
    """preset="official" (facebookresearch/deit resmlp_models.py): trunc_normal(0.02) Linears with zero bias,
    PyTorch's default patch conv, LayerScale `init_scale` per model, and a constant drop-path rate in every block
    (dpr = [drop_path_rate] * depth: our default schedule)."""
    return dict(init="trunc_normal_linear", layer_scale=layer_scale)


@register_model(
    paper=PaperFacts("15.4", "3.0", "76.6", _SRC, macs_kind="FLOPs (=MACs)"),
    timm_name="resmlp_12_224",
    official=official(0.1),
    **_reg,
)
def resmlp_12_224(layer_scale: float = 1e-4) -> ModelCfg:
    """ResMLP-S12. LayerScale init: timm 1e-4, the official code 0.1 (its depth rule: 0.1 up to depth 18)."""
    return resmlp(12, 384, 16, layer_scale)


@register_model(
    paper=PaperFacts("30.0", "6.0", "79.4", _SRC, macs_kind="FLOPs (=MACs)"),
    timm_name="resmlp_24_224",
    official=official(1e-5),
    **_reg,
)
def resmlp_24_224(layer_scale: float = 1e-5) -> ModelCfg:
    return resmlp(24, 384, 16, layer_scale)


@register_model(
    paper=PaperFacts("44.7", "8.9", "79.7", _SRC, macs_kind="FLOPs (=MACs)"),
    timm_name="resmlp_36_224",
    official=official(1e-6),
    **_reg,
)
def resmlp_36_224(layer_scale: float = 1e-6) -> ModelCfg:
    return resmlp(36, 384, 16, layer_scale)


@register_model(
    paper=PaperFacts("129.1", "100.2", "81.0", _SRC, macs_kind="FLOPs (=MACs)"),
    timm_name="resmlp_big_24_224",
    official=official(1e-6),
    **_reg,
)
def resmlp_big_24_224(layer_scale: float = 1e-6) -> ModelCfg:
    """ResMLP-B24/8: patch 8, so 784 tokens."""
    return resmlp(24, 768, 8, layer_scale)


_SMALL_SRC = "tokenmix small-image config: ResMLP-S12 layout at width 256, patch 4"


@register_model(paper=PaperFacts(None, None, None, _SMALL_SRC, img_size=32), **_reg)
def resmlp_12_cifar(layer_scale: float = 0.1) -> ModelCfg:
    """ResMLP-12 for 32×32 inputs (64 tokens); LayerScale 0.1 is the official init for depth <= 18."""
    return resmlp(12, 256, 4, layer_scale).replace(img_size=32, num_classes=10)
