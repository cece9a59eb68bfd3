"""RepMLP-ResNet-50 (Ding et al. 2021, "RepMLP: Re-parameterizing Convolutions into Fully-connected Layers for
Image Recognition", arXiv 2105.01883; code DingXiaoH/RepMLP `repmlp_resnet.py` before 82c0ea6).

ResNet-50 (stem 7x7/2 + max-pool, bottleneck stages of 3, 4, 6, 3 blocks at widths 256, 512, 1024, 2048) whose
stride-1 3x3 convs in stages 2 and 3 (28x28 and 14x14 maps at 224) become RepMLP v1 parts on 7x7 partitions
with 1x1, 3x3 and 5x5 conv branches during training:
- light: the block narrows to C/8 and the 3x3 conv is replaced by RepMLP (fc3 in 4 groups) -> ReLU;
- bottleneck: 3x3 conv to (C/4)/r, RepMLP (fc3 in 8 groups), 3x3 conv back to C/4; r = 2 in stage 2, 4 in 3.
The FC is sized by the map, so each model is tied to 224 x 224. `tokenmix.reparameterize(model)` (and
tokenmix.deploy) gives the official deploy form, as its `repmlp_model_convert`: the branches merged into fc3 and
every conv + BN of the ResNet fused into a conv with bias; deploy=True builds that form, the layout of the
official merged files. Parameters follow the official code; ImageNet figures are not transcribed (see `_SRC`).
"""

from __future__ import annotations

from ..config import HeadCfg, ModelCfg, StageCfg, part
from ..factory import register_model
from ..paper import PaperFacts

DEPTHS, DIMS = (3, 4, 6, 3), (256, 512, 1024, 2048)  # ResNet-50
REPMLP_STAGES = (1, 2)  # stages 2 and 3 (0-based): the 28x28 and 14x14 maps


def repmlp_resnet50(
    kind: str, deploy: bool = False, partition: tuple[int, int] = (7, 7), fc3_init: str = "default"
) -> ModelCfg:
    """kind: "light" or "bottleneck"; deploy: the inference form (the official merged files' layout);
    `partition` other than 7x7 exists for reduced test configs.
    fc3_init: "default" (PyTorch's conv init) or "orthogonal" (the official code's)."""
    plain = part("resnet_conv3x3", deploy=deploy)
    repmlp = dict(partition=partition, conv_kernels=(1, 3, 5), gp_reduction=1, deploy=deploy, fc3_init=fc3_init)
    mixers = {
        "light": [part("repmlp_light", fc3_groups=4, **repmlp)] * 2,
        "bottleneck": [part("repmlp_bottleneck", r=r, fc3_groups=8, **repmlp) for r in (2, 4)],
    }[kind]
    width_ratio = 0.125 if kind == "light" else 0.25
    stages = tuple(
        StageCfg(
            DEPTHS[i],
            DIMS[i],
            mixer=mixers[REPMLP_STAGES.index(i)] if i in REPMLP_STAGES else plain,
            block=part(
                "bottleneck",
                stride=1 if i == 0 else 2,
                width_ratio=width_ratio if i in REPMLP_STAGES else 0.25,
                deploy=deploy,
            ),
        )
        for i in range(4)
    )
    return ModelCfg(
        stem=part("resnet", width=64, deploy=deploy), stages=stages, head=HeadCfg(pool="avg"), init="torch_default"
    )


_SRC = "RepMLP paper (arXiv 2105.01883) ✗ not read; params: the official code, counted"
# preset="official" (DingXiaoH/RepMLP 4b3e347 = 82c0ea6~1, repmlp.py): nn.init.orthogonal_ on every fc3 weight,
# PyTorch's default for everything else (our default init).
OFFICIAL = dict(fc3_init="orthogonal")


# The merged (deploy) layout first: the training layout's rules read its keys too, the merged one refuses a
# training file's BNs, so a file is named by the first map that takes it.
@register_model(
    family="repmlp_resnet",
    paper=PaperFacts(None, None, None, _SRC),
    official_keymaps=("repmlp_resnet_light_merged", "repmlp_resnet_light"),
    official=OFFICIAL,
)
def repmlp_resnet50_light(deploy: bool = False, fc3_init: str = "default") -> ModelCfg:
    return repmlp_resnet50("light", deploy, fc3_init=fc3_init)


@register_model(
    family="repmlp_resnet",
    paper=PaperFacts(None, None, None, _SRC),
    official_keymaps=("repmlp_resnet_bottleneck_merged", "repmlp_resnet_bottleneck"),
    official=OFFICIAL,
)
def repmlp_resnet50_bottleneck(deploy: bool = False, fc3_init: str = "default") -> ModelCfg:
    return repmlp_resnet50("bottleneck", deploy, fc3_init=fc3_init)
