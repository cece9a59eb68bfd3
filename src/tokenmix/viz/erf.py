"""The effective receptive field (Luo et al. 2016, "Understanding the Effective Receptive Field in Deep
Convolutional Neural Networks"): |d y_centre / d x|, the gradient of the centre position of the output
feature map with respect to the input image, averaged over images and input channels. The centre's channels
are summed with random signs (fixed, ±1): a plain sum is blind after a LayerNorm of unit gain, whose outputs
always sum to zero; with ±1 weights a linear layer's answer is unchanged (|±g| = |g|).
How far a mixer looks: pooling and convolutions grow it by their window per block, token MLPs, attention
and Fourier mixing cover the whole image from the first block."""

from __future__ import annotations

from collections.abc import Callable

import torch

from ..layers.build import to_layout
from ..metaformer import MetaFormer


def effective_receptive_field(
    features: Callable[[torch.Tensor], torch.Tensor], images: torch.Tensor, seed: int = 0
) -> torch.Tensor:
    """(H, W) mean over images and channels of |d (sum_c s_c features(x)[:, c, h/2, w/2]) / d x|, s_c = ±1.

    `features` maps (B, C, H, W) images to an NCHW feature map. Each image's gradient is its own: the centre
    output of image b depends only on image b.
    """
    x = images.detach().clone().requires_grad_(True)
    y = features(x)
    if y.ndim != 4:
        raise ValueError(f"expected an NCHW feature map, got a tensor of shape {tuple(y.shape)}")
    h, w = y.shape[2] // 2, y.shape[3] // 2
    signs = torch.randint(0, 2, (y.shape[1],), generator=torch.Generator().manual_seed(seed)) * 2 - 1
    (grad,) = torch.autograd.grad((y[:, :, h, w] * signs.to(y.dtype)).sum(), x)
    return grad.abs().mean(dim=(0, 1))


def model_features(model: MetaFormer) -> Callable[[torch.Tensor], torch.Tensor]:
    """The model's last feature map as NCHW on its patch grid (class tokens dropped)."""

    def features(x: torch.Tensor) -> torch.Tensor:
        y = model.forward_features(x)
        layout, grid = model.feature_layout, model.stages[-1].grid
        if layout == "nlc":
            y = y[:, model.num_prefix_tokens :]
        return to_layout(y, layout, "nchw", grid)

    return features


def model_erf(model: MetaFormer, images: torch.Tensor) -> torch.Tensor:
    """The ERF of the whole model in eval mode (BatchNorm statistics fixed, no dropout)."""
    was_training = model.training
    model.eval()
    try:
        return effective_receptive_field(model_features(model), images)
    finally:
        model.train(was_training)
