"""Hybrid MetaFormers: any token mixer in any stage of the PoolFormer layout (Yu et al. 2022, "MetaFormer is
Actually What You Need for Vision", Table 5 "hybrid stages"; official code sail-sg/poolformer
`models/metaformer.py`).

    create_model("metaformer", mixers="pool,pool,attn,attn")      # the paper's [P, P, A, A]
    tokenmix info metaformer --mixers pool,pool,attn,attn

The skeleton is PoolFormer v1 (GELU MLP, LayerScale 1e-5, norm -> mean -> Linear head). As in the official
hybrids, a model with attention uses LayerNorm over channels (eps 1e-5) instead of GroupNorm(1), and a
learned position embedding (zero init) is added after the downsample into the first attention stage.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..config import ConfigError, HeadCfg, ModelCfg, Part, part
from ..factory import register_model
from ..paper import PaperFacts
from ..registry import MIXERS
from .poolformer import SIZES, metaformer_stages

# Short names for the mixers of the ablations; any registered mixer name also works.
MIXER_ALIASES = {
    "pool": part("pool", pool_size=3),
    "attn": part("attention", head_dim=32, qkv_bias=False),
    "attention": part("attention", head_dim=32, qkv_bias=False),
    "id": part("identity"),
    "identity": part("identity"),
    "fc": part("linear_tokens", bias=False),  # the paper's SpatialFC: Linear(N, N) without bias
    "random": part("random"),
    "sepconv": part("sepconv"),
}


def parse_mixers(mixers: str | Sequence[str | Part]) -> tuple[Part, ...]:
    """ "pool,pool,attn,attn", or a list of names or Parts, as four mixer Parts."""
    names = mixers.split(",") if isinstance(mixers, str) else list(mixers)
    if len(names) != 4:
        raise ConfigError(f"expected 4 mixers, one per stage, got {len(names)}: {mixers!r}")
    out = []
    for m in names:
        if isinstance(m, Part):
            out.append(m)
        elif m.strip() in MIXER_ALIASES:
            out.append(MIXER_ALIASES[m.strip()])
        else:
            MIXERS.get(m.strip())  # an unknown name fails here, with suggestions
            out.append(part(m.strip()))
    return tuple(out)


def hybrid(size: str, mixers: str | Sequence[str | Part]) -> ModelCfg:
    if size not in SIZES:
        raise ConfigError(f"size must be one of {', '.join(SIZES)}, got {size!r}")
    mixer_parts = parse_mixers(mixers)
    attention = [i for i, m in enumerate(mixer_parts) if m.kind == "attention"]
    norm = part("layernorm", eps=1e-5) if attention else part("groupnorm1", eps=1e-5)
    stages = metaformer_stages(
        size,
        mixers=mixer_parts,
        norm=norm,
        mlp=part("mlp", ratio=4.0, act="gelu"),
        layer_scale=1e-5,
        pos_embed_stage=attention[0] if attention and attention[0] > 0 else None,
    )
    stem = part("conv", kernel_size=7, stride=4, padding=2)
    return ModelCfg(stem=stem, stages=stages, head=HeadCfg(pool="avg", feature_norm=norm))


_T5 = "PoolFormer paper Table 5 ✔"
# preset="official" (sail-sg/poolformer a075575, models/metaformer.py): as PoolFormer v1, `cls_init_weights` inits
# only the Linears and the Mlp its own 1x1 convs; the stem and downsampling convs keep PyTorch's default. No
# drop-path rate is published for these five.
OFFICIAL = dict(init="trunc_normal_linear_mlp")
_reg = dict(family="metaformer_hybrid", crop_pct=0.95)
_reg9 = {**_reg, "crop_pct": 0.9}  # the GroupNorm variants


@register_model(paper=PaperFacts("11.9", "1.8", "77.2", "defaults = PoolFormer-S12, PoolFormer Table 1 ✔"), **_reg)
def metaformer(size: str = "s12", mixers: str | Sequence[str | Part] = "pool,pool,pool,pool") -> ModelCfg:
    """Any four mixers in the PoolFormer layout; the paper figures are the default's (PoolFormer-S12)."""
    return hybrid(size, mixers)


@register_model(paper=PaperFacts("11.9", "1.8", "74.3", _T5), keymap="hybrid_id", official=OFFICIAL, **_reg9)
def metaformer_id_s12() -> ModelCfg:
    return hybrid("s12", "id,id,id,id")


@register_model(paper=PaperFacts("14.0", "1.9", "78.3", _T5), keymap="hybrid_pppa", official=OFFICIAL, **_reg)
def metaformer_pppa_s12_224() -> ModelCfg:
    return hybrid("s12", "pool,pool,pool,attn")


@register_model(paper=PaperFacts("16.5", "2.5", "81.0", _T5), keymap="hybrid_ppaa", official=OFFICIAL, **_reg)
def metaformer_ppaa_s12_224() -> ModelCfg:
    return hybrid("s12", "pool,pool,attn,attn")


@register_model(paper=PaperFacts("11.9", "1.8", "77.5", _T5), keymap="hybrid_pppf", official=OFFICIAL, **_reg9)
def metaformer_pppf_s12_224() -> ModelCfg:
    return hybrid("s12", "pool,pool,pool,fc")


@register_model(paper=PaperFacts("12.2", "1.9", "77.9", _T5), keymap="hybrid_ppff", official=OFFICIAL, **_reg9)
def metaformer_ppff_s12_224() -> ModelCfg:
    return hybrid("s12", "pool,pool,fc,fc")
