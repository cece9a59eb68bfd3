"""The attention baselines: ViT (Dosovitskiy et al. 2021, arXiv 2010.11929) and DeiT (Touvron et al. 2021,
arXiv 2012.12877), as the MetaFormer skeleton with multi-head self-attention as its token mixer.

A class token and a learned position embedding enter in the stem; the head reads the class token, or with
pool="avg" (ViT's "GAP" classifier, big_vision's default pool_type="gap") there is no class token and the head
averages the normed patch tokens. DeiT's models are ViT's architecture with a different training recipe (its
distilled variants are not built here).
"""

from __future__ import annotations

from ..config import ConfigError, HeadCfg, ModelCfg, StageCfg, part
from ..factory import HALF_MEAN, HALF_STD, register_model
from ..paper import PaperFacts

# DeiT paper Table 1: width, depth, heads (head width 64 throughout).
SIZES = {"tiny": (192, 12, 3), "small": (384, 12, 6), "base": (768, 12, 12)}
POOLS = ("token", "avg")  # the class token, or no class token and the mean of the patch tokens


def vit(size: str, patch: int = 16, act: str = "gelu", pool: str = "token") -> ModelCfg:
    if pool not in POOLS:
        raise ConfigError(f"ViT pool must be one of {', '.join(POOLS)}, got {pool!r}")
    dim, depth, heads = SIZES[size]
    norm = part("layernorm", eps=1e-6)
    mlp = part("mlp", ratio=4.0, act=act)
    stage = StageCfg(depth, dim, mixer=part("attention", num_heads=heads, qkv_bias=True), norm=norm, mlp=mlp)
    return ModelCfg(
        stem=part("vit", patch_size=patch, **({} if pool == "token" else dict(class_token=False))),
        stages=(stage,),
        head=HeadCfg(pool=pool, feature_norm=norm),
        init="trunc_normal_linear",
    )


_DEIT = "DeiT paper Table 1 (params ✔) and PoolFormer paper Table 2 (MACs, top-1 ✔)"
# DeiT's Table 1 prints whole millions: DeiT-Ti's 5.7M as "5M".
_TI_DEVIATION = "DeiT's Table 1 truncates 5.7M to 5M"
_AUGREG = "timm's weights for this name are AugReg (Steiner et al. 2021) in21k->in1k; architecture = DeiT's"
# ViT's official code is JAX (google-research/vision_transformer): tanh GELU, and its .npz releases load, as do
# big_vision's own ViT files (tokenmix.convert.big_vision; pool="avg" for its pool_type="gap").
_vit = dict(family="vit", keymap="vit", mean=HALF_MEAN, std=HALF_STD, crop_pct=0.9, official=dict(act="gelu_tanh"))


def _jax(size: str) -> dict:
    heads = SIZES[size][2]
    return dict(official_keymaps=(f"vit_jax_{heads}h", f"vit_big_vision_{heads}h"))


_deit = dict(family="vit", keymap="vit", crop_pct=0.875)


def _ti(source: str, top1: str | None, pretrain: str = "ImageNet-1k") -> PaperFacts:
    return PaperFacts("5", "1.3", top1, source, pretrain=pretrain, deviation=_TI_DEVIATION, deviation_tolerance=0.15)


@register_model(
    paper=_ti(_DEIT + "; " + _AUGREG, None, "ImageNet-21k"), timm_name="vit_tiny_patch16_224", **_vit, **_jax("tiny")
)
def vit_tiny_patch16_224(act: str = "gelu", pool: str = "token") -> ModelCfg:
    return vit("tiny", act=act, pool=pool)


@register_model(
    paper=PaperFacts("22", "4.6", None, _DEIT + "; " + _AUGREG, pretrain="ImageNet-21k"),
    timm_name="vit_small_patch16_224",
    **_vit,
    **_jax("small"),
)
def vit_small_patch16_224(act: str = "gelu", pool: str = "token") -> ModelCfg:
    return vit("small", act=act, pool=pool)


@register_model(
    paper=PaperFacts("86", "17.6", "79.67", "Mixer paper Table 3 (ViT-B/16 on ImageNet-1k) and PoolFormer Table 2 ✔"),
    timm_name="vit_base_patch16_224",
    **_vit,
    **_jax("base"),
)
def vit_base_patch16_224(act: str = "gelu", pool: str = "token") -> ModelCfg:
    return vit("base", act=act, pool=pool)


@register_model(paper=_ti(_DEIT, "72.2"), timm_name="deit_tiny_patch16_224", **_deit)
def deit_tiny_patch16_224() -> ModelCfg:
    return vit("tiny")


@register_model(paper=PaperFacts("22", "4.6", "79.8", _DEIT), timm_name="deit_small_patch16_224", **_deit)
def deit_small_patch16_224() -> ModelCfg:
    return vit("small")


@register_model(paper=PaperFacts("86", "17.5", "81.8", _DEIT), timm_name="deit_base_patch16_224", **_deit)
def deit_base_patch16_224() -> ModelCfg:
    return vit("base")
