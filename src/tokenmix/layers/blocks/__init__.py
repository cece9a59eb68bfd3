"""Block kinds: how one stage wires its norm, token mixer, channel MLP and residuals. One kind per file, each
registered by name in tokenmix.registry.BLOCKS; the scaffolding they share (the Block contract, Scale,
residual_add, drop path) is in `base`.

Every kind uses the same attribute names (norm1, token_mixer, ls1, drop_path1, norm2, mlp, ls2, drop_path2),
so state-dict keys line up across families and one converter pattern fits all.
"""

from . import (  # noqa: F401
    attention_gated,
    bottleneck,
    channel_first,
    convmixer,
    filter_mlp,
    gated,
    metaformer,
    sparse_mlp,
)
from .base import Block, Scale, residual_add  # noqa: F401
