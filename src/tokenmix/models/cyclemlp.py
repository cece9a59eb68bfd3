"""CycleMLP (Chen et al. 2022, "CycleMLP: A MLP-like Architecture for Dense Prediction", ICLR 2022,
arXiv 2107.10224; code ShoufaChen/CycleMLP): the PoolFormer-style 4-stage layout with Cycle FC token mixers.

Overlapping 7x7/4 stem without norm, 3x3/2 downsampling, channels-last LayerNorm (eps 1e-5), mean-pool head.
The mixer has no weights tied to the token count, so any input size works. Official weights load through
the "cyclemlp" key map.
"""

from __future__ import annotations

from ..config import HeadCfg, ModelCfg, StageCfg, part
from ..factory import register_model
from ..paper import PaperFacts

# Official cycle_mlp.py: blocks per stage, MLP ratios, widths.
SIZES = {
    "b1": ((2, 2, 4, 2), (4, 4, 4, 4), (64, 128, 320, 512)),
    "b2": ((2, 3, 10, 3), (4, 4, 4, 4), (64, 128, 320, 512)),
    "b3": ((3, 4, 18, 3), (8, 8, 4, 4), (64, 128, 320, 512)),
    "b4": ((3, 8, 27, 3), (8, 8, 4, 4), (64, 128, 320, 512)),
    "b5": ((3, 4, 24, 3), (4, 4, 4, 4), (96, 192, 384, 768)),
}


def cyclemlp(size: str) -> ModelCfg:
    depths, ratios, dims = SIZES[size]
    norm = part("layernorm", eps=1e-5)
    down = part("conv", kernel_size=3, stride=2, padding=1)
    stages = tuple(
        StageCfg(
            depths[i],
            dims[i],
            mixer=part("cycle"),
            norm=norm,
            mlp=part("mlp", ratio=float(ratios[i])),
            downsample=down if i > 0 else None,
        )
        for i in range(4)
    )
    return ModelCfg(
        stem=part("conv", kernel_size=7, stride=4, padding=2),
        stages=stages,
        head=HeadCfg(pool="avg", feature_norm=norm),
        init="trunc_normal_linear",
    )


_SRC = "CycleMLP README ✔ (params, FLOPs = MACs, top-1)"
# preset="official" (ShoufaChen/CycleMLP 4e062a0): main.py's `--drop-path` default 0.1, which the README's train
# command keeps, over a linear schedule; its init (trunc_normal(0.02) for Linears and CycleFC) is our default.
OFFICIAL = dict(drop_path_rate=0.1)
_reg = dict(family="cyclemlp", keymap="cyclemlp", crop_pct=0.9, official=OFFICIAL)
_K = "FLOPs (=MACs)"


@register_model(paper=PaperFacts("15", "2.1", "78.9", _SRC, macs_kind=_K), **_reg)
def cyclemlp_b1() -> ModelCfg:
    return cyclemlp("b1")


@register_model(paper=PaperFacts("27", "3.9", "81.6", _SRC, macs_kind=_K), **_reg)
def cyclemlp_b2() -> ModelCfg:
    return cyclemlp("b2")


@register_model(paper=PaperFacts("38", "6.9", "82.4", _SRC, macs_kind=_K), **_reg)
def cyclemlp_b3() -> ModelCfg:
    return cyclemlp("b3")


@register_model(paper=PaperFacts("52", "10.1", "83.0", _SRC, macs_kind=_K), **{**_reg, "crop_pct": 0.875})
def cyclemlp_b4() -> ModelCfg:
    return cyclemlp("b4")


@register_model(paper=PaperFacts("76", "12.3", "83.2", _SRC, macs_kind=_K), **{**_reg, "crop_pct": 0.875})
def cyclemlp_b5() -> ModelCfg:
    return cyclemlp("b5")
