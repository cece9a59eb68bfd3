"""RepMLPNet (Ding et al. 2022, "RepMLPNet: Hierarchical Vision MLP with Re-parameterized Locality", CVPR,
arXiv 2112.11081; code DingXiaoH/RepMLP `repmlpnet.py`).

Four stages of RepMLP token mixers (an FC over each stage's whole h x w grid, with 1x1 and 3x3 conv branches
during training) and BN-ed FFNs, BatchNorm before both halves, no drop-path. Stem: 4x4/4 conv + BN + ReLU;
downsampling: 2x2/2 conv + BN + ReLU; head: BN -> mean -> Linear. The FC is sized by the grid, so each model
is tied to its resolution (T224 vs T256). `tokenmix.reparameterize(model)` merges the branches for inference.
Official (training-time) weights load through the "repmlpnet" key map.
"""

from __future__ import annotations

from ..config import HeadCfg, ModelCfg, StageCfg, part
from ..factory import register_model
from ..paper import PaperFacts

# Official repmlpnet.py: widths, blocks per stage, sharesets per stage (conv branches (1, 3), GP reduce 4).
SIZES = {
    "t": ((64, 128, 256, 512), (2, 2, 6, 2), (1, 4, 16, 128)),
    "b": ((96, 192, 384, 768), (2, 2, 12, 2), (1, 4, 32, 128)),
    "d": ((80, 160, 320, 640), (2, 2, 18, 2), (1, 4, 16, 128)),
    "l": ((96, 192, 384, 768), (2, 2, 18, 2), (1, 4, 32, 256)),
}


def repmlpnet(size: str, img_size: int, deploy: bool = False) -> ModelCfg:
    dims, depths, sharesets = SIZES[size]
    bn = part("batchnorm")
    stages = tuple(
        StageCfg(
            depths[i],
            dims[i],
            mixer=part("repmlp", num_sharesets=sharesets[i], conv_kernels=(1, 3), deploy=deploy),
            norm=bn,  # prebn1 / prebn2
            mlp=part("conv_bn_mlp", ratio=4.0),
            downsample=part("conv_bn", kernel_size=2) if i > 0 else None,
        )
        for i in range(4)
    )
    return ModelCfg(
        stem=part("conv_bn", kernel_size=4),
        stages=stages,
        head=HeadCfg(pool="avg", feature_norm=bn),
        img_size=img_size,
        init="torch_default",  # the official code keeps PyTorch's defaults
    )


# No preset="official": the defaults are the official configuration (DingXiaoH/RepMLP 3eff13f). repmlpnet.py has no
# drop-path or dropout (a TODO beside the residual asks whether to add one) and no init code; main_repmlp.py builds the
# model and inits nothing; the README command and config.py set only recipe options (mixup, cutmix, label smoothing).
# The orthogonal fc3 init belongs to RepMLP v1's repmlp.py (repmlp_resnet.py), not to RepMLPNet.
_SRC = "RepMLP README ✔ (params, FLOPs = MACs, top-1)"
_reg = dict(family="repmlpnet", keymap="repmlpnet")
_K = "FLOPs (=MACs)"


@register_model(paper=PaperFacts("38.3", "2.8", "76.62", _SRC, macs_kind=_K), **_reg)
def repmlpnet_t224(deploy: bool = False) -> ModelCfg:
    return repmlpnet("t", 224, deploy)


@register_model(paper=PaperFacts("68.2", "6.7", "80.32", _SRC, macs_kind=_K), **_reg)
def repmlpnet_b224(deploy: bool = False) -> ModelCfg:
    return repmlpnet("b", 224, deploy)


@register_model(paper=PaperFacts("58.7", "4.2", "77.44", _SRC, img_size=256, macs_kind=_K), **_reg)
def repmlpnet_t256(deploy: bool = False) -> ModelCfg:
    return repmlpnet("t", 256, deploy)


@register_model(paper=PaperFacts("96.5", "9.6", "81.03", _SRC, img_size=256, macs_kind=_K), **_reg)
def repmlpnet_b256(deploy: bool = False) -> ModelCfg:
    return repmlpnet("b", 256, deploy)


@register_model(paper=PaperFacts("86.9", "8.6", "80.83", _SRC, img_size=256, macs_kind=_K), **_reg)
def repmlpnet_d256(deploy: bool = False) -> ModelCfg:
    return repmlpnet("d", 256, deploy)


@register_model(paper=PaperFacts("117.7", "11.5", "81.68", _SRC, img_size=256, macs_kind=_K), **_reg)
def repmlpnet_l256(deploy: bool = False) -> ModelCfg:
    return repmlpnet("l", 256, deploy)
