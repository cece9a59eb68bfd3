"""Token mixers: one kind per file, each registered by name in tokenmix.registry.MIXERS.

The contract of a mixer class:
- a class attribute `layout` ("nchw", "nhwc" or "nlc") naming the tensor layout it takes and returns;
- a constructor whose first argument is `dim`; it may also name the build-time facts `num_tokens` (N, cls
  token included) and `grid` ((H, W) of the stage at the configured image size); other arguments come from the
  config (Part.args);
- forward(x) -> a tensor of the same shape;
- if its weights are sized by the grid: `fit_grid(saved) -> dict`, its rule for a checkpoint from another
  resolution (the saved tensors under it, keys relative to it, adapted to its own shapes), or a ConfigError
  "... cannot be resized ...: <why>"; and `fit_args(saved) -> dict` when its config arguments must change with
  the weights (Mixer's token-MLP width). tokenmix.resize walks the model and asks each part.
Adding a mixer is writing one such class in its own file and importing it here; every stage of every model
can then use it, and tests/layers grow with it.
"""

from . import (  # noqa: F401
    attention,
    conv,
    cycle,
    fourier,
    permute,
    pooling,
    random,
    repmlp,
    repmlp_v1,
    resnet_conv,
    sequence,
    sparse_mlp,
    token_mlp,
)
