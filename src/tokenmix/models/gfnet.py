"""GFNet (Rao et al. 2021, "Global Filter Networks for Image Classification", arXiv 2107.00645; code
raoyongming/GFNet).

Each block replaces attention by a global filter: FFT2 over the token grid, a learnable complex filter per
channel, inverse FFT2; then a channel MLP, with one residual around both. Isotropic GFNets (Ti/XS/S/B) are
patch 16 with a learned position embedding and no class token; GFNet-H is a 4-stage pyramid (patch 4,
2 x 2 stride-2 conv downsampling, LayerScale). Official weights load through the "gfnet"/"gfnet_h" key maps.
"""

from __future__ import annotations

from ..config import HeadCfg, ModelCfg, StageCfg, part
from ..factory import register_model
from ..paper import PaperFacts

# Official main_gfnet.py: (width, depth) of the isotropic models; (widths, depths, LayerScale) of GFNet-H.
SIZES = {"ti": (256, 12), "xs": (384, 12), "s": (384, 19), "b": (512, 19)}
H_SIZES = {
    "ti": ((64, 128, 256, 512), (3, 3, 10, 3), 1e-3),
    "s": ((96, 192, 384, 768), (3, 3, 10, 3), 1e-5),
    "b": ((96, 192, 384, 768), (3, 3, 27, 3), 1e-6),
}
NORM = part("layernorm", eps=1e-6)


def gfnet(size: str) -> ModelCfg:
    dim, depth = SIZES[size]
    stage = StageCfg(depth, dim, mixer=part("global_filter"), norm=NORM, block=part("filter_mlp"))
    return ModelCfg(
        stem=part("vit", patch_size=16, class_token=False),
        stages=(stage,),
        head=HeadCfg(pool="avg", feature_norm=NORM),
        init="trunc_normal_linear",
    )


def gfnet_h(size: str) -> ModelCfg:
    dims, depths, layer_scale = H_SIZES[size]
    down = part("conv", kernel_size=2, stride=2, padding=0)
    stages = tuple(
        StageCfg(
            depths[i],
            dims[i],
            mixer=part("global_filter"),
            norm=NORM,
            block=part("filter_mlp"),
            downsample=down if i > 0 else None,
            layer_scale=layer_scale,
        )
        for i in range(4)
    )
    return ModelCfg(
        stem=part("vit", patch_size=4, class_token=False),
        stages=stages,
        head=HeadCfg(pool="avg", feature_norm=NORM),
        init="trunc_normal_linear",
    )


# No preset="official": the defaults are the official configuration (raoyongming/GFNet 2de48b6). main_gfnet.py gives
# each arch its own drop_path_rate (none for Ti / XS, so GFNet's default 0; S 0.15, B 0.25, H-Ti 0.1, H-S 0.2, H-B 0.4;
# linear over all blocks) and never hands its `--drop-path` flag (default 0.1, unset in the README command) to the
# model; gfnet.py inits Linears trunc_normal(0.02) with zero bias and the position embedding trunc_normal(0.02), draws
# the filters as randn * 0.02 and leaves the patch and downsampling convs at PyTorch's default: all as here.
_SRC = "GFNet README ✔ (params, FLOPs = MACs, top-1)"
_reg = dict(family="gfnet", keymap="gfnet", crop_pct=0.9)
_reg_h = dict(family="gfnet", keymap="gfnet_h", crop_pct=0.9)
_K = "FLOPs (=MACs)"


_TI = "the README truncates 7.51M (the official model's count, equal to ours) to 7M"


@register_model(
    paper=PaperFacts("7", "1.3", "74.6", _SRC, macs_kind=_K, deviation=_TI, deviation_tolerance=0.08), **_reg
)
def gfnet_ti() -> ModelCfg:
    return gfnet("ti")


@register_model(paper=PaperFacts("16", "2.8", "78.6", _SRC, macs_kind=_K), **_reg)
def gfnet_xs() -> ModelCfg:
    return gfnet("xs")


@register_model(paper=PaperFacts("25", "4.5", "80.0", _SRC, macs_kind=_K), **_reg)
def gfnet_s() -> ModelCfg:
    return gfnet("s").replace(drop_path_rate=0.15)


@register_model(paper=PaperFacts("43", "7.9", "80.7", _SRC, macs_kind=_K), **_reg)
def gfnet_b() -> ModelCfg:
    return gfnet("b").replace(drop_path_rate=0.25)


@register_model(paper=PaperFacts("15", "2.0", "80.1", _SRC, macs_kind=_K), **_reg_h)
def gfnet_h_ti() -> ModelCfg:
    return gfnet_h("ti").replace(drop_path_rate=0.1)


@register_model(paper=PaperFacts("32", "4.5", "81.5", _SRC, macs_kind=_K), **_reg_h)
def gfnet_h_s() -> ModelCfg:
    return gfnet_h("s").replace(drop_path_rate=0.2)


@register_model(paper=PaperFacts("54", "8.4", "82.9", _SRC, macs_kind=_K), **_reg_h)
def gfnet_h_b() -> ModelCfg:
    return gfnet_h("b").replace(drop_path_rate=0.4)
