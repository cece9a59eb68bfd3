"""Every model family, one file each. Importing this package registers all variants."""

from . import (  # noqa: F401
    ablation,
    convmixer,
    cyclemlp,
    ffonly,
    gfnet,
    gmlp,
    hybrid,
    metaformer_baselines,
    mixer,
    poolformer,
    repmlp_resnet,
    repmlpnet,
    resmlp,
    smlp,
    vip,
    vit,
)
