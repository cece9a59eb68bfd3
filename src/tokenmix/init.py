"""Weight-init schemes, by name. Only training from scratch sees them; they differ between timm and the papers'
official code (see the family files for which one each variant uses by default).

After the scheme, every module that defines `init_weights()` re-initialises itself (gMLP's gate, ViT's
position embedding): a part's special init lives with the part.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn
from torch.nn.init import trunc_normal_

from .layers.weight_init import lecun_normal_


def _trunc_normal(model: nn.Module, types: tuple[type, ...]) -> None:
    for m in model.modules():
        if isinstance(m, types):
            trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def trunc_normal_all(model: nn.Module) -> None:
    """trunc_normal(0.02) for every Linear and Conv, zero bias (timm's MetaFormer, the official PoolFormer MLPs)."""
    _trunc_normal(model, (nn.Linear, nn.Conv2d))


def trunc_normal_linear(model: nn.Module) -> None:
    """trunc_normal(0.02) for Linears only, convs keep PyTorch's default (official ResMLP and DeiT, timm's ViT)."""
    _trunc_normal(model, (nn.Linear,))


def trunc_normal_linear_mlp(model: nn.Module) -> None:
    """trunc_normal(0.02) for Linears and for the channel MLPs' 1x1 convs; the stem and downsampling convs keep
    PyTorch's default (official PoolFormer v1 and its hybrids: the model inits Linears, its Mlp its own convs)."""
    trunc_normal_linear(model)
    for mlp in model.modules():
        if getattr(mlp, "is_mlp", False):
            _trunc_normal(mlp, (nn.Conv2d,))


def timm_mixer(model: nn.Module) -> None:
    """timm's Mixer/ResMLP/gMLP init: xavier-uniform Linears with bias N(0, 1e-6) inside MLPs and zero elsewhere,
    lecun-normal convs, and a zero classifier. "Inside MLPs": the direct children of a part declaring
    `is_mlp` (timm decides by the name "mlp" in the module path)."""
    mlp_linears = {id(m) for mlp in model.modules() if getattr(mlp, "is_mlp", False) for m in mlp.children()}
    for name, m in model.named_modules():
        if isinstance(m, nn.Linear):
            if name == "head.fc":
                nn.init.zeros_(m.weight)
                nn.init.zeros_(m.bias)
                continue
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.normal_(m.bias, std=1e-6) if id(m) in mlp_linears else nn.init.zeros_(m.bias)
        elif isinstance(m, nn.Conv2d):
            lecun_normal_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def torch_default(model: nn.Module) -> None:
    """Keep PyTorch's default init (ConvMixer: official code and timm)."""


SCHEMES: dict[str, Callable[[nn.Module], None]] = {
    "trunc_normal": trunc_normal_all,
    "trunc_normal_linear": trunc_normal_linear,
    "trunc_normal_linear_mlp": trunc_normal_linear_mlp,
    "timm_mixer": timm_mixer,
    "torch_default": torch_default,
}


def init_weights(model: nn.Module, scheme: str) -> None:
    if scheme not in SCHEMES:
        raise ValueError(f"unknown init scheme {scheme!r}; known: {', '.join(SCHEMES)}")
    SCHEMES[scheme](model)
    for m in model.modules():
        if hasattr(m, "init_weights") and m is not model:
            m.init_weights()
