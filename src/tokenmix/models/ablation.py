"""The skeletons of `tokenmix ablate`: a small four-stage MetaFormer and its isotropic counterpart, in which
only the token mixer changes (the question of Yu et al. 2022, "MetaFormer is Actually What You Need for
Vision", Table 5, asked on small data).

    create_model("metaformer_small", mixers="pool,pool,attn,attn", img_size=32, num_classes=10)
    create_model("metaformer_isotropic", mixers="global_filter", img_size=32, num_classes=10)

Held equal in every cell: a non-overlapping patch stem, LayerNorm (channels) in every block and before the
head, a GELU MLP of ratio 4, mean pooling and a linear classifier, and by default no LayerScale (these nets are
4-8 blocks deep; LayerScale was introduced for deep ones; `layer_scale=1e-5` gives PoolFormer's, which Table 5's
models had). Two exceptions, both the papers' own rules:
- attention gets a learned position embedding before its first stage (PoolFormer's hybrids; it is the only
  mixer that cannot tell positions apart);
- gMLP's spatial gating halves the channels it gates, so it only exists inside gMLP's gated MLP: its cells
  use gMLP's single-branch block at the same MLP ratio (which has no LayerScale in gMLP either).
"""

from __future__ import annotations

import difflib

from ..config import ConfigError, HeadCfg, ModelCfg, Part, StageCfg, part
from ..factory import register_model
from ..paper import PaperFacts
from ..registry import MIXERS

# The ablation's mixers by short name. Every local mixer sees the 3x3 window of the pooling baseline.
ABLATION_MIXERS = {
    "identity": part("identity"),
    "random": part("random"),  # frozen softmax(U[0,1)) token mixing (PoolFormer Table 5, RandFormer)
    "pool": part("pool", pool_size=3),
    "dwconv": part("dwconv", kernel_size=3),
    "sepconv": part("sepconv", kernel_size=3),  # ConvFormer's
    "token_mlp": part("token_mlp"),  # MLP-Mixer's
    "linear_tokens": part("linear_tokens"),  # ResMLP's
    "fc": part("linear_tokens", bias=False),  # PoolFormer's SpatialFC (Table 5 hybrids)
    "spatial_gating": part("spatial_gating"),  # gMLP's (inside its gated block, see above)
    "fourier": part("fourier"),  # FNet's parameter-free 2-D FFT
    "global_filter": part("global_filter"),  # GFNet's
    "attn": part("attention", head_dim=32, qkv_bias=False),  # PoolFormer hybrids' settings
    "cycle": part("cycle"),  # CycleMLP's
    "smlp": part("sparse_mlp"),  # sMLPNet's
}
GATED = ("spatial_gating",)  # mixers that live inside the MLP (gMLP) instead of a residual branch of their own
NORM = part("layernorm", eps=1e-6)


def ablation_mixer(name: str) -> Part:
    """The Part of a short name (ABLATION_MIXERS) or of any registered token mixer with its defaults."""
    name = name.strip()
    if name in ABLATION_MIXERS:
        return ABLATION_MIXERS[name]
    if name in MIXERS:
        return part(name)
    close = difflib.get_close_matches(name, [*ABLATION_MIXERS, *MIXERS], n=3)
    known = f"known: {', '.join(ABLATION_MIXERS)} or a registered mixer"
    hint = f"did you mean {', '.join(close)}?" if close else known
    raise ConfigError(f"unknown token mixer {name!r}; {hint}")


def split_mixers(mixers: str, stages: int) -> tuple[str, ...]:
    """ "pool" (every stage) or "pool,pool,attn,attn" (one per stage) as one name per stage."""
    names = tuple(m.strip() for m in mixers.split(","))
    if len(names) == 1:
        names = names * stages
    if len(names) != stages:
        raise ConfigError(f"expected 1 or {stages} mixers (one per stage), got {len(names)}: {mixers!r}")
    return names


def stage(
    depth: int, dim: int, mixer: str, mlp_ratio: float, downsample: Part | None, layer_scale: float | None = None
) -> StageCfg:
    mixer_part = ablation_mixer(mixer)
    if mixer_part.kind in GATED:
        block, mlp, layer_scale = part("gated"), part("gated_mlp", ratio=mlp_ratio), None
    else:
        block, mlp = part("metaformer"), part("mlp", ratio=mlp_ratio, act="gelu")
    return StageCfg(
        depth=depth,
        dim=dim,
        mixer=mixer_part,
        norm=NORM,
        mlp=mlp,
        block=block,
        downsample=downsample,
        layer_scale=layer_scale,
    )


def _head() -> HeadCfg:
    return HeadCfg(pool="avg", feature_norm=NORM)


_SRC = "tokenmix: the skeleton of `tokenmix ablate` (PoolFormer Table 5's question on small data)"
_reg = dict(family="ablation", paper=PaperFacts(None, None, None, _SRC), mean=(0.5,) * 3, std=(0.5,) * 3)


@register_model(**_reg)
def metaformer_small(
    mixers: str = "pool",
    dims: tuple[int, ...] = (32, 64, 128, 256),
    depths: tuple[int, ...] = (1, 1, 3, 1),
    patch_size: int = 2,
    mlp_ratio: float = 4.0,
    layer_scale: float | None = None,
) -> ModelCfg:
    """Four stages (PoolFormer's L/6, L/6, L/2, L/6 proportions), a 3x3/2 conv between stages."""
    if len(dims) != 4 or len(depths) != 4:
        raise ConfigError(f"dims and depths need 4 entries (one per stage), got {list(dims)} and {list(depths)}")
    names = split_mixers(mixers, 4)
    first_attn = next((i for i, m in enumerate(names) if ablation_mixer(m).kind == "attention"), None)

    def down(i: int) -> Part | None:
        if i == 0:
            return None
        pos = {"pos_embed": True} if i == first_attn else {}
        return part("conv", kernel_size=3, stride=2, padding=1, **pos)

    stages = tuple(stage(depths[i], dims[i], names[i], mlp_ratio, down(i), layer_scale) for i in range(4))
    # attention from the first stage on: the position embedding comes with the stem (ViT's, without a class token)
    stem = (
        part("vit", patch_size=patch_size, class_token=False)
        if first_attn == 0
        else part("patch", patch_size=patch_size)
    )
    return ModelCfg(stem=stem, stages=stages, head=_head())


@register_model(**_reg)
def metaformer_isotropic(
    mixers: str = "pool",
    dim: int = 128,
    depth: int = 6,
    patch_size: int = 4,
    mlp_ratio: float = 4.0,
    layer_scale: float | None = None,
) -> ModelCfg:
    """One stage of `depth` blocks at one width on a patch_size grid (Mixer / ResMLP / ViT's shape)."""
    (name,) = split_mixers(mixers, 1)
    attention = ablation_mixer(name).kind == "attention"
    stem = part("vit", patch_size=patch_size, class_token=False) if attention else part("patch", patch_size=patch_size)
    return ModelCfg(stem=stem, stages=(stage(depth, dim, name, mlp_ratio, None, layer_scale),), head=_head())
