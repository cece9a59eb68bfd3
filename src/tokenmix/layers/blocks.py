"""Block kinds: how one stage wires its norm, token mixer, channel MLP and residuals.

Every kind uses the same attribute names (norm1, token_mixer, ls1, drop_path1, norm2, mlp, ls2, drop_path2),
so state-dict keys line up across families and one converter pattern fits all.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..config import StageCfg
from ..registry import BLOCKS, MIXERS, MLPS, NORMS
from .acts import make_act
from .build import build
from .conv_bn import ConvBn
from .drop import DropPath
from .fold import absorb_input_affine_, fold_norm_into, scale_output_
from .norms import batchnorm_affine
from .stems import conv_out


class Scale(nn.Module):
    """x * scale, one learnable factor per channel: LayerScale (Touvron et al. 2021b) or ResScale (Shleifer 2021)."""

    def __init__(self, dim: int, init: float, layout: str) -> None:
        super().__init__()
        self.shape = (-1, 1, 1) if layout == "nchw" else (-1,)
        self.scale = nn.Parameter(torch.full((dim,), float(init)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale.view(self.shape)


class Shift(nn.Module):
    """x + shift, one constant per channel: what is left of an inference BatchNorm whose scale went to a conv.

    Only merge() creates it, always right after an activation, whose fresh output it may overwrite.
    """

    def __init__(self, shift: torch.Tensor, layout: str) -> None:
        super().__init__()
        self.shape = (-1, 1, 1) if layout == "nchw" else (-1,)
        self.register_buffer("shift", shift.detach().clone())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shift = self.shift.view(self.shape)
        return x.add_(shift) if not torch.is_grad_enabled() and x.dtype == torch.result_type(x, shift) else x + shift


def residual_add(x: torch.Tensor, branch: torch.Tensor) -> torch.Tensor:
    """x + branch. Without autograd (inference), written into `branch`, the branch's fresh output, when that
    changes nothing but the allocation: same shape, the result's dtype (not a bf16 branch under autocast), no
    aliasing. Eager CPU inference pays for every new activation (glibc mmaps the large ones)."""
    if (
        not torch.is_grad_enabled()
        and not torch.compiler.is_compiling()  # graph compilers plan buffers themselves (and fake data_ptr)
        and branch.shape == x.shape
        and branch.dtype == torch.result_type(branch, x)
        and branch.data_ptr() != x.data_ptr()
    ):
        return branch.add_(x)
    return x + branch


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
        x = residual_add(self.res_scale1(x), self.drop_path1(self.ls1(self.token_mixer(self.norm1(x)))))
        return residual_add(self.res_scale2(x), self.drop_path2(self.ls2(self.mlp(self.norm2(x)))))

    @torch.no_grad()
    def merge(self) -> None:
        """Inference form (tokenmix.deploy): LayerScale and norm affines folded into the projections nearby.

        Channel branch: ls2 into the MLP's last layer, norm2's affine into its first. Token branch: the mixer
        decides (`merge_branch`), since only it knows what commutes with it.
        """
        if isinstance(self.ls2, Scale) and hasattr(self.mlp, "scale_output_"):
            self.mlp.scale_output_(self.ls2.scale)
            self.ls2 = nn.Identity()
        self.norm2 = fold_norm_into(self.norm2, self.mlp)
        merge_branch = getattr(self.token_mixer, "merge_branch", None)
        if merge_branch is not None:
            self.norm1, self.token_mixer, self.ls1 = merge_branch(self.norm1, self.ls1)


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

        self.register_buffer("branch_scale", None)  # set by merge(): norm1's scale, fused into the residual add

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.drop_path1(self.norm1(self.act1(self.token_mixer(x))))
        x = residual_add(x, y) if self.branch_scale is None else torch.addcmul(x, y, self.branch_scale.view(-1, 1, 1))
        return self.norm2(self.act2(self.mlp(x)))

    @torch.no_grad()
    def merge(self) -> None:
        """Inference form (tokenmix.deploy). BatchNorm sits after the activation, so it cannot go into the
        conv before it in general, and the next layer takes it only in part:

        - norm1 = a1 * y + c1 feeds only the 1x1 conv (through the residual sum), so c1 goes exactly into that
          conv's bias (a 1x1 conv has no padding); a1 joins the residual add as one addcmul.
        - norm2 = a2 * y + c2 is the next block's input *and* its residual, and the next depthwise conv pads
          with zeros where c2 would have to appear: it cannot go forward exactly, so it stays.
        - With ReLU (ConvMixer-768/32), relu(a * v) = a * relu(v) for a >= 0: a non-negative BN scale goes
          backward into the conv before the activation, leaving nothing of norm1 and a Shift of norm2.
        """
        if not isinstance(self.norm1, nn.BatchNorm2d):
            return
        scale1, shift1 = batchnorm_affine(self.norm1)
        absorb_input_affine_(self.mlp, None, shift1)
        self.norm1 = nn.Identity()
        if not fold_scale_through_relu_(self.token_mixer, self.act1, scale1):
            self.branch_scale = scale1.clone()
        self.norm2 = fold_batchnorm_through_relu(self.mlp, self.act2, self.norm2)
        for act in (self.act1, self.act2):
            if isinstance(act, nn.ReLU):
                act.inplace = True  # on the conv's fresh output; a deployed model is not trained


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
        return residual_add(x, self.drop_path1(self.mlp(self.norm1(x))))


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
        x = residual_add(x, self.drop_path2(self.mlp(self.norm2(x))))
        return residual_add(x, self.drop_path1(self.token_mixer(x)))

    @torch.no_grad()
    def merge(self) -> None:
        """Inference form (tokenmix.deploy): norm2's affine into the channel MLP's first layer."""
        self.norm2 = fold_norm_into(self.norm2, self.mlp)


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
        return residual_add(x, self.drop_path1(self.ls2(self.mlp(self.norm2(self.token_mixer(self.norm1(x)))))))

    @torch.no_grad()
    def merge(self) -> None:
        """Inference form (tokenmix.deploy): ls2 into the MLP's last layer, norm2's affine into its first."""
        if isinstance(self.ls2, Scale) and hasattr(self.mlp, "scale_output_"):
            self.mlp.scale_output_(self.ls2.scale)
            self.ls2 = nn.Identity()
        self.norm2 = fold_norm_into(self.norm2, self.mlp)


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
        x = residual_add(x, self.drop_path1(self.token_mixer(self.dwconv(self.act1(self.norm1(x))))))
        return residual_add(x, self.drop_path2(self.mlp(self.norm2(x))))

    @torch.no_grad()
    def merge(self) -> None:
        """Inference form (tokenmix.deploy): norm2's affine into the channel MLP's first layer."""
        self.norm2 = fold_norm_into(self.norm2, self.mlp)


@MIXERS.decorator("resnet_conv3x3")
class ResNetConv3x3(nn.Module):
    """ResNet's spatial layer, as a bottleneck's token mixer: 3x3 conv (stride s, no bias) -> BN -> ReLU."""

    layout = "nchw"

    def __init__(self, dim: int, stride: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(dim, dim, 3, stride=stride, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.bn(self.conv(x)))


@BLOCKS.decorator("bottleneck")
class BottleneckBlock(nn.Module):
    """ResNet's bottleneck (He et al. 2016, Fig. 5) with its 3x3 conv as the token mixer, post-activation:

        x = relu(shortcut(x) + drop_path(conv3(token_mixer(conv1(x)))))

    conv1: 1x1 -> width, BN, ReLU; the mixer (ending in its own ReLU) at width; conv3: 1x1 -> dim, BN.
    A ResNet stage changes width and stride inside its first block, so this kind takes the stage input
    (`projects_input`): the first block has a 1x1/stride + BN projection shortcut and is always the plain
    ResNet bottleneck (3x3 conv with the stride, width dim/4) — RepMLP-ResNet replaces only the stride-1 3x3
    convs, whose FC is sized for the stage's grid. The other blocks use stage.mixer at width dim * width_ratio
    (1/4; the RepMLP Light Block's 1/8).
    """

    projects_input = True

    def __init__(
        self, stage: StageCfg, ctx: dict[str, Any], drop_path: float, stride: int = 1, width_ratio: float = 0.25
    ) -> None:
        super().__init__()
        dim, first = ctx["dim"], ctx.get("first", False)
        in_dim = ctx.get("in_dim", dim)
        width = dim // 4 if first else int(dim * width_ratio)
        self.conv1 = ConvBn(in_dim, width, 1)
        self.act1 = nn.ReLU()
        self.token_mixer = (
            ResNetConv3x3(width, stride) if first else build(MIXERS, stage.mixer, **{**ctx, "dim": width})
        )
        self.conv3 = ConvBn(width, dim, 1)
        self.drop_path1 = drop_path_or_identity(drop_path)
        needs_projection = first and (stride != 1 or in_dim != dim)
        self.shortcut = ConvBn(in_dim, dim, 1, stride=stride) if needs_projection else nn.Identity()
        self.act = nn.ReLU()

    @staticmethod
    def stage_grid(grid: tuple[int, int], stride: int = 1, width_ratio: float = 0.25) -> tuple[int, int]:
        """The grid after the first block (3x3 conv, padding 1, stride s)."""
        return tuple(conv_out(g, 3, stride, 1) for g in grid)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv3(self.token_mixer(self.act1(self.conv1(x))))
        return self.act(residual_add(self.shortcut(x), self.drop_path1(y)))
