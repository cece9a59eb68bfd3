"""tokenmix.deploy(model) / model.deploy(): the inference form of a model -- the same logits, less work.

One walker; the knowledge lives in the parts. Each part that can be merged has a `merge()` method rewriting
itself exactly (up to fp32 rounding) using its own parameters and its neighbours':

- LayerScale into the projection before it (ViT's attn.proj, the MLPs' fc2 -- PoolFormer's 1x1 conv);
- norm affines into the Linear / 1x1 conv after them (ResMLP's Affine disappears, LayerNorm and GroupNorm
  lose their weight and bias); the final norm into the classifier where pooling commutes with it;
- ResMLP's token branch ls * Linear_tokens(Affine(x)) as one column-scaled token GEMM plus a constant map;
- PoolFormer's LayerScale into the GroupNorm before pool(x) - x (per-channel linear, so it commutes);
- PoolFormerV2's StarReLU scale and bias into fc2;
- ConvMixer's BatchNorms into the 1x1 conv's bias and, through ReLU, into the convs before them;
- RepMLP-ResNet's conv + BN pairs into biased convs, as its re-parameterisation (the official deploy form).

Then the model switches to the memory format it infers fastest in on its device (tokenmix.memory_format: by
default channels_last for conv-heavy models, a stage in NCHW). Training a deployed model is not supported
(dropped parameters); deploying twice is a no-op.
"""

from __future__ import annotations

import torch
from torch import nn

from .memory_format import preferred_memory_format


@torch.no_grad()
def deploy(model: nn.Module, channels_last: bool | None = None) -> nn.Module:
    """Rewrite `model` in place into its inference form and return it (eval mode, fp32 logits within ~1e-6).

    channels_last: None (default): the model's preferred inference format on the device it is on.
    """
    if getattr(model, "deployed", False):
        return model
    model.eval()
    for module in list(model.modules()):  # parents before children; merges never need a merged child
        merge = getattr(module, "merge", None)
        if callable(merge):
            merge()
    if channels_last is None:
        device = next(model.parameters()).device
        channels_last = preferred_memory_format(model, device, training=False) == torch.channels_last
    if channels_last:
        model.to(memory_format=torch.channels_last)
    model.deployed = True
    return model


fuse = deploy
