"""ConvMixer (Trockman & Kolter 2022, "Patches Are All You Need?", arXiv 2201.09792).

Patch embedding, then `depth` blocks of a large-kernel depthwise conv (spatial mixing, with a residual) and a
1x1 conv (channel mixing, without one), each followed by activation and then BatchNorm. Identical in the
official code and timm. The paper names models ConvMixer-h/d (width h, depth d).
"""

from __future__ import annotations

from ..config import HeadCfg, ModelCfg, StageCfg, part
from ..factory import register_model
from ..paper import PaperFacts


def convmixer(h: int, d: int, kernel: int, patch: int, act: str = "gelu") -> ModelCfg:
    stage = StageCfg(
        depth=d,
        dim=h,
        mixer=part("dwconv", kernel_size=kernel),
        norm=part("batchnorm"),
        mlp=part("pointwise"),
        block=part("convmixer", act=act),
    )
    return ModelCfg(
        stem=part("convmixer", patch_size=patch, act=act),
        stages=(stage,),
        head=HeadCfg(pool="avg"),
        init="torch_default",
    )


# The paper prints no MACs; mmpretrain's metafile (48.7G / 19.6G / 5.6G) is 5-6 % below a hand count and
# below torch's counter alike, so it is not used as a reference.
_SRC = "ConvMixer paper Table 1 / official README ✔ (no MACs in the paper)"
_reg = dict(family="convmixer", keymap="convmixer", crop_pct=0.96)


@register_model(paper=PaperFacts("51.6", None, "81.37", _SRC), timm_name="convmixer_1536_20", **_reg)
def convmixer_1536_20() -> ModelCfg:
    return convmixer(1536, 20, kernel=9, patch=7)


@register_model(paper=PaperFacts("21.1", None, "80.16", _SRC), timm_name="convmixer_768_32", **_reg)
def convmixer_768_32(act: str = "relu") -> ModelCfg:
    """ConvMixer-768/32 is the one variant trained with ReLU."""
    return convmixer(768, 32, kernel=7, patch=7, act=act)


@register_model(paper=PaperFacts("24.4", None, "76.94", _SRC), timm_name="convmixer_1024_20_ks9_p14", **_reg)
def convmixer_1024_20_ks9_p14() -> ModelCfg:
    return convmixer(1024, 20, kernel=9, patch=14)
