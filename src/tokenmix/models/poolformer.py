"""PoolFormer (Yu et al. 2022, "MetaFormer is Actually What You Need for Vision", arXiv 2111.11418) and
PoolFormerV2 (Yu et al. 2022b, "MetaFormer Baselines for Vision", arXiv 2210.13452).

Four stages (L/6, L/6, L/2, L/6 blocks) whose token mixer is avgpool(x) - x. v1: GroupNorm(1) with bias,
GELU MLP with bias, LayerScale. v2: bias-free GroupNorm(1), StarReLU MLP without bias, ResScale on the
shortcut of stages 3-4, a normed stem and pre-normed downsampling.

The v1 head differs between the official code and timm (the weights are the same, the logits are not):
official = GroupNorm(1) on the last feature map, then average; timm = average, then LayerNorm(eps 1e-6).
head="timm" is the default; head="official" builds the paper's.
"""

from __future__ import annotations

from ..config import ConfigError, HeadCfg, ModelCfg, StageCfg, part
from ..factory import register_model
from ..memory_format import ChannelsLast
from ..paper import PaperFacts

# Paper Table 1 (v1) / MetaFormer-baselines README (v2): blocks per stage and widths.
SIZES = {
    "s12": dict(depths=(2, 2, 6, 2), dims=(64, 128, 320, 512)),
    "s24": dict(depths=(4, 4, 12, 4), dims=(64, 128, 320, 512)),
    "s36": dict(depths=(6, 6, 18, 6), dims=(64, 128, 320, 512)),
    "m36": dict(depths=(6, 6, 18, 6), dims=(96, 192, 384, 768)),
    "m48": dict(depths=(8, 8, 24, 8), dims=(96, 192, 384, 768)),
}


def metaformer_stages(
    size: str | dict,
    mixers: tuple,
    norm,
    mlp,
    downsample_norm=None,
    layer_scale=None,
    res_scales=None,
    pos_embed_stage: int | None = None,
):
    """The four stages of the PoolFormer layout with one token mixer per stage.

    size: a key of SIZES or a dict(depths=..., dims=...). pos_embed_stage: the stage whose downsample adds a
    learned position embedding (the PoolFormer hybrids: the first attention stage).
    """
    sizes = SIZES[size] if isinstance(size, str) else size
    depths, dims = sizes["depths"], sizes["dims"]
    res_scales = res_scales or (None,) * 4

    def down(i: int):
        if i == 0:
            return None
        pos = {"pos_embed": True} if i == pos_embed_stage else {}
        return part("conv", kernel_size=3, stride=2, padding=1, norm=downsample_norm, **pos)

    return tuple(
        StageCfg(
            depth=depths[i],
            dim=dims[i],
            mixer=mixers[i],
            norm=norm,
            mlp=mlp,
            downsample=down(i),
            layer_scale=layer_scale,
            res_scale=res_scales[i],
        )
        for i in range(4)
    )


def poolformer_v1(size: str, layer_scale: float, head: str = "timm") -> ModelCfg:
    if head not in ("timm", "official"):
        raise ConfigError(f"head must be 'timm' or 'official', got {head!r}")
    stages = metaformer_stages(
        size,
        mixers=(part("pool", pool_size=3),) * 4,
        norm=part("groupnorm1", eps=1e-5),
        mlp=part("mlp", ratio=4.0, act="gelu"),
        layer_scale=layer_scale,
    )
    if head == "timm":
        head_cfg = HeadCfg(pool="avg", norm=part("layernorm", eps=1e-6))
    else:
        head_cfg = HeadCfg(pool="avg", feature_norm=part("groupnorm1", eps=1e-5))
    return ModelCfg(stem=part("conv", kernel_size=7, stride=4, padding=2), stages=stages, head=head_cfg)


def poolformer_v2(size: str, mixers: tuple | None = None) -> ModelCfg:
    """PoolFormerV2; other `mixers` give the MetaFormer baselines built on it (IdentityFormer, RandFormer)."""
    ln_no_bias = part("layernorm", eps=1e-6, bias=False)
    stages = metaformer_stages(
        size,
        mixers=mixers or (part("pool", pool_size=3),) * 4,
        norm=part("groupnorm1", eps=1e-6, bias=False),
        mlp=part("mlp", ratio=4.0, act="star_relu", bias=False),
        downsample_norm=ln_no_bias,
        res_scales=(None, None, 1.0, 1.0),
    )
    stem = part("conv", kernel_size=7, stride=4, padding=2, norm=ln_no_bias)
    return ModelCfg(stem=stem, stages=stages, head=HeadCfg(pool="avg", norm=part("layernorm", eps=1e-6)))


# preset="official" (sail-sg/poolformer a075575): the README's train command sets `--drop-path` 0.1 / 0.1 / 0.2 /
# 0.3 / 0.4 for S12 / S24 / S36 / M36 / M48 (metaformer's scripts/poolformerv2/*.sh the same for v2); v1's
# `cls_init_weights` inits only the Linears and its Mlp its own 1x1 convs, so the stem and downsampling convs
# keep PyTorch's default; the v1 head is GroupNorm(1) -> average (head="official"). v2 inits every conv and
# Linear with trunc_normal(0.02), as our default.
V1_OFFICIAL = dict(head="official", init="trunc_normal_linear_mlp")
DROP_PATH_OFFICIAL = {"s12": 0.1, "s24": 0.1, "s36": 0.2, "m36": 0.3, "m48": 0.4}


def v1_official(size: str) -> dict:
    return dict(V1_OFFICIAL, drop_path_rate=DROP_PATH_OFFICIAL[size])


def v2_official(size: str) -> dict:
    return dict(drop_path_rate=DROP_PATH_OFFICIAL[size])


_V1 = "PoolFormer paper Table 1 ✔ (params, MACs, top-1)"
_V2 = "MetaFormer Baselines README / paper Table 1 ✔"
_v1 = dict(
    family="poolformer",
    keymap="metaformer",
    official_keymaps=("poolformer_official",),  # the official head only: its GroupNorm feature norm
    crop_pct=0.9,
)
_v2 = dict(family="poolformer", keymap="metaformer", official_keymaps=("metaformer_official",), crop_pct=1.0)


@register_model(
    paper=PaperFacts("11.9", "1.8", "77.2", _V1), timm_name="poolformer_s12", official=v1_official("s12"), **_v1
)
def poolformer_s12(head: str = "timm", layer_scale: float = 1e-5) -> ModelCfg:
    return poolformer_v1("s12", layer_scale, head)


@register_model(
    paper=PaperFacts("21.4", "3.4", "80.3", _V1), timm_name="poolformer_s24", official=v1_official("s24"), **_v1
)
def poolformer_s24(head: str = "timm", layer_scale: float = 1e-5) -> ModelCfg:
    return poolformer_v1("s24", layer_scale, head)


@register_model(
    paper=PaperFacts("30.8", "5.0", "81.4", _V1), timm_name="poolformer_s36", official=v1_official("s36"), **_v1
)
def poolformer_s36(head: str = "timm", layer_scale: float = 1e-6) -> ModelCfg:
    return poolformer_v1("s36", layer_scale, head)


@register_model(
    paper=PaperFacts("56.1", "8.8", "82.1", _V1),
    timm_name="poolformer_m36",
    official=v1_official("m36"),
    **{**_v1, "crop_pct": 0.95},
)
def poolformer_m36(head: str = "timm", layer_scale: float = 1e-6) -> ModelCfg:
    return poolformer_v1("m36", layer_scale, head)


@register_model(
    paper=PaperFacts("73.4", "11.6", "82.5", _V1),
    timm_name="poolformer_m48",
    official=v1_official("m48"),
    **{**_v1, "crop_pct": 0.95},
)
def poolformer_m48(head: str = "timm", layer_scale: float = 1e-6) -> ModelCfg:
    return poolformer_v1("m48", layer_scale, head)


@register_model(
    paper=PaperFacts("11.9", "1.8", "78.0", _V2), timm_name="poolformerv2_s12", official=v2_official("s12"), **_v2
)
def poolformerv2_s12() -> ModelCfg:
    return poolformer_v2("s12")


@register_model(
    paper=PaperFacts("21.3", "3.4", "80.7", _V2), timm_name="poolformerv2_s24", official=v2_official("s24"), **_v2
)
def poolformerv2_s24() -> ModelCfg:
    return poolformer_v2("s24")


@register_model(
    paper=PaperFacts("30.8", "5.0", "81.6", _V2), timm_name="poolformerv2_s36", official=v2_official("s36"), **_v2
)
def poolformerv2_s36() -> ModelCfg:
    return poolformer_v2("s36")


@register_model(
    paper=PaperFacts("56.1", "8.8", "82.2", _V2), timm_name="poolformerv2_m36", official=v2_official("m36"), **_v2
)
def poolformerv2_m36() -> ModelCfg:
    return poolformer_v2("m36")


@register_model(
    paper=PaperFacts("73.3", "11.5", "82.6", _V2), timm_name="poolformerv2_m48", official=v2_official("m48"), **_v2
)
def poolformerv2_m48() -> ModelCfg:
    return poolformer_v2("m48")


_SMALL_SRC = "tokenmix small-image config: PoolFormer-S12 with a 3×3 stride-2 stem"

# Trains channels_last on CPU, measured (channels_last / NCHW training step at 32x32, batch 128, 2 threads, median
# [range] of same-round ratios, `PYTHONPATH=src python bench/channels_last.py --models poolformer_s12_cifar --batch
# 128 --dtype bf16 fp32 --threads 2`, quiet 2-core EPYC, 2026-12-03): bf16 1.97 [1.85-2.02], fp32 1.37 [1.33-1.45],
# once the MLP's 1x1 convs ran as GEMMs on the NHWC map (layers/pointwise.py); before that, with torch's 1x1
# convolution, bf16 was 0.84 [0.54-0.88] (load 15, 2026-12-02). One H100 (2026-11-25, torch's convolution) was
# equal or worse at 32: CUDA stays NCHW until measured again.
_CIFAR_CHANNELS_LAST = ChannelsLast(train=("cpu",))


@register_model(
    paper=PaperFacts(None, None, None, _SMALL_SRC, img_size=32),
    family="poolformer",
    keymap="metaformer",
    crop_pct=1.0,
    channels_last=_CIFAR_CHANNELS_LAST,
)
def poolformer_s12_cifar(layer_scale: float = 1e-5) -> ModelCfg:
    """PoolFormer-S12 for 32×32 inputs: the 7×7 stride-4 stem would leave a 1×1 map in stage 4, so the stem is
    3×3 stride 2 (16, 8, 4, 2 pixels per side over the four stages)."""
    cfg = poolformer_v1("s12", layer_scale)
    return cfg.replace(stem=part("conv", kernel_size=3, stride=2, padding=1), img_size=32, num_classes=10)
