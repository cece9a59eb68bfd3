"""MetaFormer baselines (Yu et al. 2022b, "MetaFormer Baselines for Vision", arXiv 2210.13452): the
PoolFormerV2 skeleton with the simplest and the most common token mixers.

- IdentityFormer: no token mixing at all; RandFormer: identity in stages 1-2, a frozen random N x N mixing
  matrix in stages 3-4. Both are PoolFormerV2 with another mixer.
- ConvFormer: separable convolutions (SepConv) in every stage; CAFormer: SepConv in stages 1-2, attention
  (head width 32, no biases) in stages 3-4. Both use LayerNorm over channels without bias and an MLP
  classifier, and are weight-compatible with timm's models of the same names.
"""

from __future__ import annotations

from ..config import HeadCfg, ModelCfg, part
from ..factory import register_model
from ..paper import PaperFacts
from .poolformer import metaformer_stages, poolformer_v2

# ConvFormer/CAFormer sizes (paper Table 2; timm `convformer_*`): blocks per stage and widths.
SIZES = {
    "s18": dict(depths=(3, 3, 9, 3), dims=(64, 128, 320, 512)),
    "s36": dict(depths=(3, 12, 18, 3), dims=(64, 128, 320, 512)),
    "m36": dict(depths=(3, 12, 18, 3), dims=(96, 192, 384, 576)),
    "b36": dict(depths=(3, 12, 18, 3), dims=(128, 256, 512, 768)),
}
SEPCONV = part("sepconv", expansion_ratio=2.0, kernel_size=7)
ATTENTION = part("attention", head_dim=32, qkv_bias=False, proj_bias=False)


def conv_attention_former(size: str, mixers: tuple, head_norm_eps: float = 1e-6, head_dropout: float = 0.0) -> ModelCfg:
    """head_norm_eps: the MLP head's LayerNorm eps (timm 1e-6, official 1e-5); head_dropout: inside the MLP head."""
    ln_no_bias = part("layernorm", eps=1e-6, bias=False)
    stages = metaformer_stages(
        SIZES[size],
        mixers=mixers,
        norm=ln_no_bias,  # over channels in every stage (timm: LayerNorm2dNoBias, then LayerNormNoBias)
        mlp=part("mlp", ratio=4.0, act="star_relu", bias=False),
        downsample_norm=ln_no_bias,
        res_scales=(None, None, 1.0, 1.0),
    )
    stem = part("conv", kernel_size=7, stride=4, padding=2, norm=ln_no_bias)
    head = HeadCfg(
        pool="avg", norm=part("layernorm", eps=1e-6), mlp_ratio=4.0, mlp_norm_eps=head_norm_eps, mlp_drop=head_dropout
    )
    return ModelCfg(stem=stem, stages=stages, head=head)


# preset="official" (sail-sg/metaformer 64c534a): `--drop-path` (and CAFormer's `--head-dropout`) of each
# model's scripts/<family>/train_<model>.sh (the README's command for convformer_s18); the MLP head's norm is
# nn.LayerNorm (eps 1e-5, timm 1e-6). Init (trunc_normal(0.02) for every conv and Linear) is our default.
# (scripts/caformer/train_caformer_b36.sh names `--model caformer_s36`; its 0.6 / 0.5 are taken for B36.)
DROP_PATH_OFFICIAL = {
    "identityformer": {"s12": 0.1, "s24": 0.1, "s36": 0.2, "m36": 0.3, "m48": 0.4},
    "randformer": {"s12": 0.1, "s24": 0.1, "s36": 0.2, "m36": 0.3, "m48": 0.3},
    "convformer": {"s18": 0.2, "s36": 0.3, "m36": 0.4, "b36": 0.6},
    "caformer": {"s18": 0.15, "s36": 0.3, "m36": 0.4, "b36": 0.6},
}
HEAD_DROPOUT_OFFICIAL = {"caformer": {"s18": 0.0, "s36": 0.4, "m36": 0.4, "b36": 0.5}}


def official(model: str, size: str) -> dict:
    preset = dict(drop_path_rate=DROP_PATH_OFFICIAL[model][size])
    if model in ("convformer", "caformer"):
        preset.update(head_norm_eps=1e-5, head_dropout=HEAD_DROPOUT_OFFICIAL.get(model, {}).get(size, 0.0))
    return preset


_README = "sail-sg/metaformer README ✔"
_RAND_TOP1 = "top-1 ≈ (architectures.md §1.5; the README commit read repeats IdentityFormer's top-1 for RandFormer)"
_RAND_FROZEN = "the paper counts the frozen random matrices apart (+0.2M..0.9M); they are buffers here"
_base = dict(family="metaformer_baselines", crop_pct=1.0)
_official = dict(official_keymaps=("metaformer_official",), **_base)  # sail-sg/metaformer layout
_official_nlc34 = dict(official_keymaps=("metaformer_official_nlc34",), **_base)  # stages 3-4 in token layout
_timm = dict(keymap="metaformer", **_official)
_timm_nlc34 = dict(keymap="metaformer", **_official_nlc34)


def _identity(size: str) -> ModelCfg:
    return poolformer_v2(size, mixers=(part("identity"),) * 4)


def _random(size: str) -> ModelCfg:
    return poolformer_v2(size, mixers=(part("identity"),) * 2 + (part("random"),) * 2)


@register_model(
    paper=PaperFacts("11.9", "1.8", "74.6", _README), official=official("identityformer", "s12"), **_official
)
def identityformer_s12() -> ModelCfg:
    return _identity("s12")


@register_model(
    paper=PaperFacts("21.3", "3.4", "78.2", _README), official=official("identityformer", "s24"), **_official
)
def identityformer_s24() -> ModelCfg:
    return _identity("s24")


@register_model(
    paper=PaperFacts("30.8", "5.0", "79.3", _README), official=official("identityformer", "s36"), **_official
)
def identityformer_s36() -> ModelCfg:
    return _identity("s36")


@register_model(
    paper=PaperFacts("56.1", "8.8", "80.0", _README), official=official("identityformer", "m36"), **_official
)
def identityformer_m36() -> ModelCfg:
    return _identity("m36")


@register_model(
    paper=PaperFacts("73.3", "11.5", "80.4", _README), official=official("identityformer", "m48"), **_official
)
def identityformer_m48() -> ModelCfg:
    return _identity("m48")


def _rand_facts(params: str, macs: str, top1: str) -> PaperFacts:
    return PaperFacts(params, macs, top1, f"{_README} (params, MACs); {_RAND_TOP1}; {_RAND_FROZEN}")


@register_model(paper=_rand_facts("11.9", "1.9", "76.6"), official=official("randformer", "s12"), **_official_nlc34)
def randformer_s12() -> ModelCfg:
    return _random("s12")


@register_model(paper=_rand_facts("21.3", "3.5", "78.2"), official=official("randformer", "s24"), **_official_nlc34)
def randformer_s24() -> ModelCfg:
    return _random("s24")


@register_model(paper=_rand_facts("30.8", "5.2", "79.5"), official=official("randformer", "s36"), **_official_nlc34)
def randformer_s36() -> ModelCfg:
    return _random("s36")


@register_model(paper=_rand_facts("56.1", "9.0", "81.2"), official=official("randformer", "m36"), **_official_nlc34)
def randformer_m36() -> ModelCfg:
    return _random("m36")


@register_model(paper=_rand_facts("73.3", "11.9", "81.4"), official=official("randformer", "m48"), **_official_nlc34)
def randformer_m48() -> ModelCfg:
    return _random("m48")


@register_model(
    paper=PaperFacts("27", "3.9", "83.0", _README),
    timm_name="convformer_s18",
    official=official("convformer", "s18"),
    **_timm,
)
def convformer_s18(head_norm_eps: float = 1e-6, head_dropout: float = 0.0) -> ModelCfg:
    return conv_attention_former("s18", (SEPCONV,) * 4, head_norm_eps, head_dropout)


@register_model(
    paper=PaperFacts("40", "7.6", "84.1", _README),
    timm_name="convformer_s36",
    official=official("convformer", "s36"),
    **_timm,
)
def convformer_s36(head_norm_eps: float = 1e-6, head_dropout: float = 0.0) -> ModelCfg:
    return conv_attention_former("s36", (SEPCONV,) * 4, head_norm_eps, head_dropout)


@register_model(
    paper=PaperFacts("57", "12.8", "84.5", _README),
    timm_name="convformer_m36",
    official=official("convformer", "m36"),
    **_timm,
)
def convformer_m36(head_norm_eps: float = 1e-6, head_dropout: float = 0.0) -> ModelCfg:
    return conv_attention_former("m36", (SEPCONV,) * 4, head_norm_eps, head_dropout)


@register_model(
    paper=PaperFacts("100", "22.6", "84.8", _README),
    timm_name="convformer_b36",
    official=official("convformer", "b36"),
    **_timm,
)
def convformer_b36(head_norm_eps: float = 1e-6, head_dropout: float = 0.0) -> ModelCfg:
    return conv_attention_former("b36", (SEPCONV,) * 4, head_norm_eps, head_dropout)


@register_model(
    paper=PaperFacts("26", "4.1", "83.6", _README),
    timm_name="caformer_s18",
    official=official("caformer", "s18"),
    **_timm_nlc34,
)
def caformer_s18(head_norm_eps: float = 1e-6, head_dropout: float = 0.0) -> ModelCfg:
    return conv_attention_former("s18", (SEPCONV,) * 2 + (ATTENTION,) * 2, head_norm_eps, head_dropout)


@register_model(
    paper=PaperFacts("39", "8.0", "84.5", _README),
    timm_name="caformer_s36",
    official=official("caformer", "s36"),
    **_timm_nlc34,
)
def caformer_s36(head_norm_eps: float = 1e-6, head_dropout: float = 0.0) -> ModelCfg:
    return conv_attention_former("s36", (SEPCONV,) * 2 + (ATTENTION,) * 2, head_norm_eps, head_dropout)


@register_model(
    paper=PaperFacts("56", "13.2", "85.2", _README),
    timm_name="caformer_m36",
    official=official("caformer", "m36"),
    **_timm_nlc34,
)
def caformer_m36(head_norm_eps: float = 1e-6, head_dropout: float = 0.0) -> ModelCfg:
    return conv_attention_former("m36", (SEPCONV,) * 2 + (ATTENTION,) * 2, head_norm_eps, head_dropout)


@register_model(
    paper=PaperFacts("99", "23.2", "85.5", _README),
    timm_name="caformer_b36",
    official=official("caformer", "b36"),
    **_timm_nlc34,
)
def caformer_b36(head_norm_eps: float = 1e-6, head_dropout: float = 0.0) -> ModelCfg:
    return conv_attention_former("b36", (SEPCONV,) * 2 + (ATTENTION,) * 2, head_norm_eps, head_dropout)
