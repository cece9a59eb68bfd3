"""Block kinds: how one stage wires its norm, token mixer, channel MLP and residuals.

Every kind uses the same attribute names (norm1, token_mixer, ls1, drop_path1, norm2, mlp, ls2, drop_path2),
so state-dict keys line up across families and one converter pattern fits all.
"""

from __future__ import annotations

from typing import Any

import torch
from timm.layers import DropPath
from torch import nn

from ..config import StageCfg
from ..registry import BLOCKS, MIXERS, MLPS, NORMS
from .acts import make_act
from .build import build


class Scale(nn.Module):
    """x * scale, one learnable factor per channel: LayerScale (Touvron et al. 2021b) or ResScale (Shleifer 2021)."""

    def __init__(self, dim: int, init: float, layout: str) -> None:
        super().__init__()
        self.shape = (-1, 1, 1) if layout == "nchw" else (-1,)
        self.scale = nn.Parameter(torch.full((dim,), float(init)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale.view(self.shape)


def optional_scale(dim: int, init: float | None, layout: str) -> nn.Module:
    return nn.Identity() if init is None else Scale(dim, init, layout)


def drop_path_or_identity(rate: float) -> nn.Module:
    return DropPath(rate) if rate > 0 else nn.Identity()


@BLOCKS.decorator("metaformer")
class MetaFormerBlock(nn.Module):
    """The general MetaFormer block (Yu et al. 2022, Eq. 1-3), pre-norm, two residual branches:

    x = rs1 * x + drop_path(ls1 * token_mixer(norm1(x)))
    x = rs2 * x + drop_path(ls2 * mlp(norm2(x)))
    """

    def __init__(self, stage: StageCfg, ctx: dict[str, Any], drop_path: float) -> None:
        super().__init__()
        dim, layout = ctx["dim"], ctx["layout"]
        self.norm1 = build(NORMS, stage.norm, dim=dim, layout=layout)
        self.token_mixer = build(MIXERS, stage.mixer, **ctx)
        self.ls1 = optional_scale(dim, stage.layer_scale, layout)
        self.res_scale1 = optional_scale(dim, stage.res_scale, layout)
        self.drop_path1 = drop_path_or_identity(drop_path)
        self.norm2 = build(NORMS, stage.norm, dim=dim, layout=layout)
        self.mlp = build(MLPS, stage.mlp, dim=dim, layout=layout)
        self.ls2 = optional_scale(dim, stage.layer_scale, layout)
        self.res_scale2 = optional_scale(dim, stage.res_scale, layout)
        self.drop_path2 = drop_path_or_identity(drop_path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.res_scale1(x) + self.drop_path1(self.ls1(self.token_mixer(self.norm1(x))))
        x = self.res_scale2(x) + self.drop_path2(self.ls2(self.mlp(self.norm2(x))))
        return x


@BLOCKS.decorator("convmixer")
class ConvMixerBlock(nn.Module):
    """ConvMixer (Trockman & Kolter 2022, Fig. 2): post-norm, activation before BatchNorm, and a residual only
    around the spatial half:

        x = x + drop_path(norm1(act(token_mixer(x))))
        x = norm2(act(mlp(x)))
    """

    def __init__(self, stage: StageCfg, ctx: dict[str, Any], drop_path: float, act: str = "gelu") -> None:
        super().__init__()
        dim, layout = ctx["dim"], ctx["layout"]
        self.token_mixer = build(MIXERS, stage.mixer, **ctx)
        self.act1 = make_act(act)
        self.norm1 = build(NORMS, stage.norm, dim=dim, layout=layout)
        self.drop_path1 = drop_path_or_identity(drop_path)
        self.mlp = build(MLPS, stage.mlp, dim=dim, layout=layout)
        self.act2 = make_act(act)
        self.norm2 = build(NORMS, stage.norm, dim=dim, layout=layout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop_path1(self.norm1(self.act1(self.token_mixer(x))))
        return self.norm2(self.act2(self.mlp(x)))


@BLOCKS.decorator("gated")
class GatedBlock(nn.Module):
    """gMLP's single-branch block (Liu et al. 2021, Fig. 1): x + drop_path(mlp(norm1(x))), the token mixer
    (the Spatial Gating Unit) sitting inside the gated MLP as its gate, built at the MLP's hidden width.
    """

    def __init__(self, stage: StageCfg, ctx: dict[str, Any], drop_path: float) -> None:
        super().__init__()
        dim, layout = ctx["dim"], ctx["layout"]
        self.norm1 = build(NORMS, stage.norm, dim=dim, layout=layout)
        make_gate = lambda hidden: build(MIXERS, stage.mixer, **{**ctx, "dim": hidden})
        self.mlp = build(MLPS, stage.mlp, dim=dim, layout=layout, make_gate=make_gate)
        self.drop_path1 = drop_path_or_identity(drop_path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.drop_path1(self.mlp(self.norm1(x)))


@BLOCKS.decorator("channel_first")
class ChannelFirstBlock(nn.Module):
    """The feed-forward-only ViT block (Melas-Kyriazi 2021): the channel MLP first, then the token mixer,
    which brings its own norm (it normalises over tokens):

        x = x + drop_path(mlp(norm2(x)))
        x = x + drop_path(token_mixer(x))
    """

    def __init__(self, stage: StageCfg, ctx: dict[str, Any], drop_path: float) -> None:
        super().__init__()
        dim, layout = ctx["dim"], ctx["layout"]
        self.norm2 = build(NORMS, stage.norm, dim=dim, layout=layout)
        self.mlp = build(MLPS, stage.mlp, dim=dim, layout=layout)
        self.drop_path2 = drop_path_or_identity(drop_path)
        self.token_mixer = build(MIXERS, stage.mixer, **ctx)
        self.drop_path1 = drop_path_or_identity(drop_path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop_path2(self.mlp(self.norm2(x)))
        return x + self.drop_path1(self.token_mixer(x))


@BLOCKS.decorator("filter_mlp")
class FilterMlpBlock(nn.Module):
    """GFNet's block (Rao et al. 2021, Fig. 1): ONE residual around mixer and MLP together, no shortcut
    around the global filter itself:

        x = x + drop_path(ls2 * mlp(norm2(token_mixer(norm1(x)))))

    ls2 is GFNet-H's LayerScale (official key `gamma`); the isotropic GFNets have none.
    """

    def __init__(self, stage: StageCfg, ctx: dict[str, Any], drop_path: float) -> None:
        super().__init__()
        dim, layout = ctx["dim"], ctx["layout"]
        self.norm1 = build(NORMS, stage.norm, dim=dim, layout=layout)
        self.token_mixer = build(MIXERS, stage.mixer, **ctx)
        self.norm2 = build(NORMS, stage.norm, dim=dim, layout=layout)
        self.mlp = build(MLPS, stage.mlp, dim=dim, layout=layout)
        self.ls2 = optional_scale(dim, stage.layer_scale, layout)
        self.drop_path1 = drop_path_or_identity(drop_path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.drop_path1(self.ls2(self.mlp(self.norm2(self.token_mixer(self.norm1(x))))))


@BLOCKS.decorator("sparse_mlp")
class SparseMlpBlock(nn.Module):
    """sMLPNet's block (Tang et al. 2022, Fig. 3): a pre-activated depthwise 3x3 conv (BN -> GELU -> DWConv,
    no bias) feeds the token mixer inside one residual; the channel half is the usual LN -> MLP:

        x = x + drop_path(token_mixer(dwconv(act1(norm1(x)))))
        x = x + drop_path(mlp(norm2(x)))
    """

    def __init__(self, stage: StageCfg, ctx: dict[str, Any], drop_path: float, kernel_size: int = 3) -> None:
        super().__init__()
        dim, layout = ctx["dim"], ctx["layout"]
        self.norm1 = nn.BatchNorm2d(dim)
        self.act1 = nn.GELU()
        self.dwconv = nn.Conv2d(dim, dim, kernel_size, padding=kernel_size // 2, groups=dim, bias=False)
        self.token_mixer = build(MIXERS, stage.mixer, **ctx)
        self.drop_path1 = drop_path_or_identity(drop_path)
        self.norm2 = build(NORMS, stage.norm, dim=dim, layout=layout)
        self.mlp = build(MLPS, stage.mlp, dim=dim, layout=layout)
        self.drop_path2 = drop_path_or_identity(drop_path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop_path1(self.token_mixer(self.dwconv(self.act1(self.norm1(x)))))
        return x + self.drop_path2(self.mlp(self.norm2(x)))
