"""Exact rewrites of per-channel affine maps into the linear layers beside them, for tokenmix.deploy and the
re-parameterisations (RepMLP's branch merge). All BatchNorm and affine folding algebra lives here.

A per-channel scale s after a Linear/1x1-conv is the same as scaling that layer's output rows; a per-channel
affine (w, b) before one is the same as scaling its input columns and adding W @ b to its bias. Both hold
exactly in real arithmetic; in fp32 they differ from the unfused form by rounding only (~1e-7 relative).
A kxk conv with zero padding takes a scale on its input exactly, but not a shift: the padded border would see
0 instead of b (so shifts are only folded into 1x1 convs and Linears).
"""

from __future__ import annotations

import torch
from torch import nn

from .norms import Affine

Layer = nn.Linear | nn.Conv2d


def batchnorm_affine(bn: nn.modules.batchnorm._BatchNorm) -> tuple[torch.Tensor, torch.Tensor]:
    """Inference-time BatchNorm as y = x * scale + shift (running statistics folded in)."""
    scale = bn.running_var.add(bn.eps).rsqrt()
    if bn.weight is not None:
        scale = scale * bn.weight
    shift = -bn.running_mean * scale
    if bn.bias is not None:
        shift = shift + bn.bias
    return scale.detach(), shift.detach()


def fold_bn(weight: torch.Tensor, bn: nn.modules.batchnorm._BatchNorm) -> tuple[torch.Tensor, torch.Tensor]:
    """(W', b') of a bias-free conv/FC followed by `bn` in eval mode: W' = W g / s, b' = beta - mu g / s.

    If the conv has a multiple of bn's channels (RepMLP's fc3: S * h * w outputs, BN over S), each BN channel
    covers a contiguous block of outputs.
    """
    scale, shift = batchnorm_affine(bn)
    repeat = weight.shape[0] // scale.shape[0]
    scale, shift = scale.repeat_interleave(repeat), shift.repeat_interleave(repeat)
    return weight * scale.view(-1, *([1] * (weight.ndim - 1))), shift


def fuse_conv_bn(conv: nn.Conv2d, bn: nn.modules.batchnorm._BatchNorm) -> nn.Conv2d:
    """One conv with bias equal to `conv -> bn` in eval mode (the conv's own bias, if any, scaled and shifted
    too): W' = W g / s, b' = (b - mu) g / s + beta. The inference form of every conv + BN pair."""
    weight, bias = fold_bn(conv.weight, bn)
    if conv.bias is not None:
        bias = bias + conv.bias * batchnorm_affine(bn)[0]
    fused = nn.Conv2d(
        conv.in_channels,
        conv.out_channels,
        conv.kernel_size,
        stride=conv.stride,
        padding=conv.padding,
        dilation=conv.dilation,
        groups=conv.groups,
        bias=True,
        padding_mode=conv.padding_mode,
    ).to(conv.weight)
    with torch.no_grad():
        fused.weight.copy_(weight)
        fused.bias.copy_(bias)
    return fused


class Shift(nn.Module):
    """x + shift, one constant per channel: what is left of an inference BatchNorm whose scale went to a conv.

    Only a merge creates it, always right after an activation, whose fresh output it may overwrite.
    """

    def __init__(self, shift: torch.Tensor, layout: str) -> None:
        super().__init__()
        self.shape = (-1, 1, 1) if layout == "nchw" else (-1,)
        self.register_buffer("shift", shift.detach().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shift = self.shift.view(self.shape)
        return x.add_(shift) if not torch.is_grad_enabled() and x.dtype == torch.result_type(x, shift) else x + shift


def _channel_view(t: torch.Tensor, like: torch.Tensor, dim: int) -> torch.Tensor:
    shape = [1] * like.ndim
    shape[dim] = -1
    return t.reshape(shape)


@torch.no_grad()
def scale_output_(layer: Layer, scale: torch.Tensor) -> None:
    """layer(x) * scale (per output channel) == layer'(x)."""
    layer.weight.mul_(_channel_view(scale, layer.weight, 0))
    if layer.bias is not None:
        layer.bias.mul_(scale)


@torch.no_grad()
def absorb_input_affine_(layer: Layer, weight: torch.Tensor | None, bias: torch.Tensor | None) -> None:
    """layer(x * weight + bias) == layer'(x), for a Linear or a 1x1 conv (any conv when bias is None)."""
    w = layer.weight
    if bias is not None:
        if isinstance(layer, nn.Conv2d) and (w.shape[2:] != (1, 1) or layer.groups != 1):
            raise ValueError("a shift can only be folded into a Linear or a dense 1x1 conv")
        shift = w.flatten(1) @ bias  # (out,)
        if layer.bias is None:
            layer.bias = nn.Parameter(shift)
        else:
            layer.bias.add_(shift)
    if weight is not None:
        if isinstance(layer, nn.Conv2d) and layer.groups != 1:
            raise ValueError("an input scale folds into a dense conv only")
        w.mul_(_channel_view(weight, w, 1))


def take_affine(norm: nn.Module) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """Remove a norm's per-channel affine and return it as (weight, bias); the norm keeps its statistics."""
    weight, bias = norm.weight, getattr(norm, "bias", None)
    weight = None if weight is None else weight.detach().clone()
    bias = None if bias is None else bias.detach().clone()
    norm.weight, norm.bias = None, None
    return weight, bias


def has_affine(norm: nn.Module) -> bool:
    return getattr(norm, "weight", None) is not None or getattr(norm, "bias", None) is not None


def fold_norm_into(norm: nn.Module, layer: nn.Module) -> nn.Module:
    """Move a pre-norm's per-channel affine into the next layer's input (if that layer takes one); returns the
    norm to keep (Affine, having no statistics, disappears; BatchNorm's affine is tied to its statistics)."""
    if not has_affine(norm) or not hasattr(layer, "absorb_input_affine_") or isinstance(norm, nn.BatchNorm2d):
        return norm
    layer.absorb_input_affine_(*take_affine(norm))
    return nn.Identity() if isinstance(norm, Affine) else norm


@torch.no_grad()
def scale_norm_output_(norm: nn.Module, scale: torch.Tensor) -> bool:
    """norm(x) * scale == norm'(x) for a norm with a per-channel weight; False if it has none."""
    if getattr(norm, "weight", None) is None or isinstance(norm, nn.BatchNorm2d):
        return False
    norm.weight.mul_(scale)
    if getattr(norm, "bias", None) is not None:
        norm.bias.mul_(scale)
    return True


def fold_scale_through_relu_(conv: nn.Conv2d, act: nn.Module, scale: torch.Tensor) -> bool:
    """relu(conv(x)) * scale == relu(conv'(x)) when scale >= 0; False (nothing changed) otherwise."""
    if not isinstance(act, nn.ReLU) or not bool((scale >= 0).all()):
        return False
    scale_output_(conv, scale)
    return True


def fold_batchnorm_through_relu(conv: nn.Conv2d, act: nn.Module, bn: nn.BatchNorm2d) -> nn.Module:
    """What is left of `conv -> act -> bn` after moving bn's scale into conv where a ReLU allows it."""
    scale, shift = batchnorm_affine(bn)
    return Shift(shift, "nchw") if fold_scale_through_relu_(conv, act, scale) else bn
