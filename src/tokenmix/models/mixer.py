"""MLP-Mixer (Tolstikhin et al. 2021, "MLP-Mixer: An all-MLP Architecture for Vision", arXiv 2105.01601).

Per block: a token-mixing MLP across patches, then a channel MLP per patch, both pre-LayerNorm with residuals.

Defaults follow timm (weight-compatible with its mixer_* models): exact-erf GELU and the same drop-path rate in
every block. The paper's JAX code differs in two ways, both options here: act="gelu_tanh" (flax's nn.gelu is the
tanh approximation, so converted JAX weights match only with it) and drop_path_schedule="linear" (App. B).
"""

from __future__ import annotations

from ..config import HeadCfg, ModelCfg, StageCfg, part
from ..factory import HALF_MEAN, HALF_STD, register_model
from ..paper import PaperFacts

# Paper Table 1, in its symbols: hidden width C and number of layers; D_S = C/2 and D_C = 4C for every size.
SIZES = {"S": dict(C=512, layers=8), "B": dict(C=768, layers=12), "L": dict(C=1024, layers=24)}


def mixer(size: str, patch: int, act: str = "gelu") -> ModelCfg:
    return mixer_cfg(SIZES[size]["C"], SIZES[size]["layers"], patch, act)


def mixer_cfg(C: int, layers: int, patch: int, act: str = "gelu") -> ModelCfg:
    """A Mixer of width C and depth `layers` with the paper's D_S = C/2 and D_C = 4C."""
    norm = part("layernorm", eps=1e-6)
    stage = StageCfg(
        depth=layers,
        dim=C,
        mixer=part("token_mlp", ratio=0.5, act=act),  # D_S = C / 2
        norm=norm,
        mlp=part("mlp", ratio=4.0, act=act),  # D_C = 4C
    )
    return ModelCfg(
        stem=part("patch", patch_size=patch),
        stages=(stage,),
        head=HeadCfg(pool="avg", feature_norm=norm),
        drop_path_schedule="constant",
        init="timm_mixer",
    )


def _facts(params: str, top1: str | None, pretrain: str, macs: str | None = None) -> PaperFacts:
    source = "Mixer paper Table 1 (params, without head) and Table 3 (top-1) ✔"
    if macs:
        source += "; MACs from the PoolFormer paper Table 2 ✔"
    return PaperFacts(params, macs, top1, source, params_exclude_head=True, pretrain=pretrain)


# preset="official": flax's `nn.gelu` is the tanh approximation (google-research/vision_transformer
# models_mixer.py), needed for the logits of converted JAX weights. The JAX init and training recipe are not
# transcribed: init and drop path stay timm's.
OFFICIAL = dict(act="gelu_tanh")
_reg = dict(
    family="mixer", keymap="mixer", official_keymaps=("mixer_jax",), mean=HALF_MEAN, std=HALF_STD, official=OFFICIAL
)


@register_model(paper=_facts("19", "68.70", "JFT-300M, 5 epochs"), timm_name="mixer_s32_224", **_reg)
def mixer_s32_224(act: str = "gelu") -> ModelCfg:
    return mixer("S", 32, act)


@register_model(paper=_facts("18", "73.83", "JFT-300M, 5 epochs"), timm_name="mixer_s16_224", **_reg)
def mixer_s16_224(act: str = "gelu") -> ModelCfg:
    return mixer("S", 16, act)


@register_model(paper=_facts("60", "75.53", "JFT-300M, 7 epochs"), timm_name="mixer_b32_224", **_reg)
def mixer_b32_224(act: str = "gelu") -> ModelCfg:
    return mixer("B", 32, act)


@register_model(paper=_facts("59", "76.44", "ImageNet-1k", macs="12.7"), timm_name="mixer_b16_224", **_reg)
def mixer_b16_224(act: str = "gelu") -> ModelCfg:
    return mixer("B", 16, act)


@register_model(paper=_facts("206", "80.67", "JFT-300M, 7 epochs"), timm_name="mixer_l32_224", **_reg)
def mixer_l32_224(act: str = "gelu") -> ModelCfg:
    return mixer("L", 32, act)


@register_model(paper=_facts("207", "71.76", "ImageNet-1k"), timm_name="mixer_l16_224", **_reg)
def mixer_l16_224(act: str = "gelu") -> ModelCfg:
    return mixer("L", 16, act)


_SMALL = "tokenmix small-image config: Mixer-S proportions (D_S = C/2, D_C = 4C) at C=256, 8 layers, patch 4"


@register_model(paper=PaperFacts(None, None, None, _SMALL, img_size=32), **{**_reg, "official": None})
def mixer_s4_cifar(act: str = "gelu") -> ModelCfg:
    """Mixer for 32×32 inputs: 64 tokens of 4×4 patches."""
    return mixer_cfg(256, 8, 4, act).replace(img_size=32, num_classes=10)


_DIGITS_SRC = "tokenmix: a LayerNorm model for 8×8 digits (DDP and resume tests)"


@register_model(
    paper=PaperFacts(None, None, None, _DIGITS_SRC, img_size=8),
    family="mixer",
    keymap="mixer",
    mean=(0.5,),
    std=(0.5,),
    crop_pct=1.0,
)
def mixer_digits(act: str = "gelu") -> ModelCfg:
    """A 2-layer Mixer of width 64 on 2×2 patches of 8×8 grey digits (16 tokens): no BatchNorm, so N ranks
    train it exactly as one process does."""
    return mixer_cfg(64, 2, 2, act).replace(img_size=8, in_chans=1, num_classes=10)
