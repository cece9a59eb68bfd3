"""Vision Permutator (Hou et al. 2022, "Vision Permutator: A Permutable MLP-Like Architecture for Visual
Recognition", TPAMI, arXiv 2106.12368; code Andrew-Qibin/VisionPermutator).

7x7 patches (a 32 x 32 grid at 224 px; ViP-S/14: 14x14 patches, a 16 x 16 grid), Permute-MLP token mixers,
MLP ratio 3, channels-last LayerNorm (eps 1e-5), mean-pool head. One 2x2 stride-2 "transition" halves the
grid where the paper has it; stages of equal width without a transition simply follow each other. The H/W
mixing Linears are Linear(C, C) over (side x C/segment_dim), so the grid side must equal segment_dim: 224 px
only.
"""

from __future__ import annotations

from ..config import HeadCfg, ModelCfg, StageCfg, part
from ..factory import register_model
from ..paper import PaperFacts

# Official vip.py: blocks, widths, segment_dim per stage; the stage after which the transition comes (None: no
# transition); the patch size.
SIZES = {
    "s7": ((4, 3, 8, 3), (192, 384, 384, 384), (32, 16, 16, 16), 0, 7),
    "m7": ((4, 3, 14, 3), (256, 256, 512, 512), (32, 32, 16, 16), 1, 7),
    "l7": ((8, 8, 16, 4), (256, 512, 512, 512), (32, 16, 16, 16), 0, 7),
    "s14": ((4, 3, 8, 3), (384, 384, 384, 384), (16, 16, 16, 16), None, 14),
}


def vip(size: str) -> ModelCfg:
    depths, dims, segments, transition, patch = SIZES[size]
    norm = part("layernorm", eps=1e-5)
    stages = tuple(
        StageCfg(
            depths[i],
            dims[i],
            mixer=part("permute", segment_dim=segments[i]),
            norm=norm,
            mlp=part("mlp", ratio=3.0),
            downsample=part("conv", kernel_size=2, stride=2, padding=0) if transition == i - 1 else None,
        )
        for i in range(4)
    )
    return ModelCfg(
        stem=part("patch", patch_size=patch),
        stages=stages,
        head=HeadCfg(pool="avg", feature_norm=norm),
        init="trunc_normal_linear",
    )


_SRC = "ViP README ✔ (params, top-1; FLOPs not printed)"
# preset="official" (Andrew-Qibin/VisionPermutator 2cab2ce): the README's train command for ViP-S/7 sets
# `--drop-path 0.1` (linear schedule); no rate is published for the others, so only vip_s7 has the preset. Its init
# (trunc_normal(0.02) Linears, PyTorch's default convs) is our default.
OFFICIAL_S7 = dict(drop_path_rate=0.1)
_reg = dict(family="vip", crop_pct=0.9)


@register_model(paper=PaperFacts("25", None, "81.5", _SRC), keymap="vip_s7", official=OFFICIAL_S7, **_reg)
def vip_s7() -> ModelCfg:
    return vip("s7")


@register_model(paper=PaperFacts("55", None, "82.7", _SRC), keymap="vip_m7", **_reg)
def vip_m7() -> ModelCfg:
    return vip("m7")


@register_model(paper=PaperFacts("88", None, "83.2", _SRC), keymap="vip_s7", **{**_reg, "crop_pct": 0.875})
def vip_l7() -> ModelCfg:
    return vip("l7")


_S14 = "official vip.py `vip_s14` (not in the README's table; the paper's figures not read)"


@register_model(paper=PaperFacts(None, None, None, _S14), keymap="vip_s14", **_reg)
def vip_s14() -> ModelCfg:
    return vip("s14")
