"""sMLPNet (Tang et al. 2022, "Sparse MLP for Image Recognition: Is Self-Attention Really Necessary?", AAAI,
arXiv 2109.05422; code microsoft/SPACH `models/smlp.py`).

4x4 patch stem and 2x2/2 downsampling, both bias-free; width doubles per stage; each block is a depthwise conv
plus the sparse row/column MLP (sMLP), then a channel MLP of ratio 3; BatchNorm -> mean -> Linear head. The
sMLP weights are sized by the grid (224 px only). Official weights load through the "smlp_t"/"smlp_sb" maps.
"""

from __future__ import annotations

from ..config import HeadCfg, ModelCfg, StageCfg, part
from ..factory import register_model
from ..paper import PaperFacts

# SPACH README / smlp.py: base width, blocks per stage, peak drop-path rate.
SIZES = {"t": (80, (2, 8, 14, 2), 0.0), "s": (96, (2, 10, 24, 2), 0.2), "b": (112, (2, 10, 24, 2), 0.3)}


def smlpnet(size: str) -> ModelCfg:
    dim, depths, drop_path = SIZES[size]
    down = part("conv", kernel_size=2, stride=2, padding=0, bias=False)
    stages = tuple(
        StageCfg(
            depths[i],
            dim * 2**i,
            mixer=part("sparse_mlp"),
            norm=part("layernorm", eps=1e-5),
            mlp=part("mlp", ratio=3.0),
            block=part("sparse_mlp"),
            downsample=down if i > 0 else None,
        )
        for i in range(4)
    )
    return ModelCfg(
        stem=part("patch", patch_size=4, bias=False),
        stages=stages,
        head=HeadCfg(pool="avg", feature_norm=part("batchnorm")),
        drop_path_rate=drop_path,
        init="torch_default",  # the official code keeps PyTorch's defaults
    )


# No preset="official": the defaults are the official configuration (microsoft/SPACH dcede1e). models/registry.py fixes
# dp_rate per size (T 0, S 0.2, B 0.3: SIZES), spread as rate * block / (blocks - 1) with one rate for both residuals of
# a block; main.py hands its `--drop-path` (default 0.1, unset in the README command) and `--drop` to the model as
# keywords that sMLPNet's **kwargs discards; smlp.py has no init code (PyTorch's defaults, init="torch_default").
_SRC = "SPACH README (sMLPNet) ✔ (params, FLOPs = MACs, top-1)"
_K = "FLOPs (=MACs)"


@register_model(paper=PaperFacts("24", "5.0", "81.9", _SRC, macs_kind=_K), family="smlp", keymap="smlp_t")
def smlpnet_t() -> ModelCfg:
    return smlpnet("t")


@register_model(paper=PaperFacts("49", "10.3", "83.1", _SRC, macs_kind=_K), family="smlp", keymap="smlp_sb")
def smlpnet_s() -> ModelCfg:
    return smlpnet("s")


@register_model(paper=PaperFacts("66", "14.0", "83.4", _SRC, macs_kind=_K), family="smlp", keymap="smlp_sb")
def smlpnet_b() -> ModelCfg:
    return smlpnet("b")
