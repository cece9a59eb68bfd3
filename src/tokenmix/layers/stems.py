"""Stems (image -> first feature map) and the downsampling layers between hierarchical stages.

Each knows its output layout, its reduction and the grid it produces from an input grid, so that the model
can size the token-count-dependent mixers of every stage before any data flows.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.init import trunc_normal_

from ..config import ConfigError, Part
from ..registry import DOWNSAMPLES, NORMS, STEMS
from .acts import make_act
from .build import build
from .contracts import Downsample, Stem
from .fold import fold_batchnorm_through_relu, fuse_conv_bn
from .grid import conv_out, resample_map, resample_token_embed


def optional_norm(spec: Part | None, dim: int) -> nn.Module:
    return build(NORMS, spec, dim=dim, layout="nchw") if spec is not None else nn.Identity()


@STEMS.decorator("patch")
class PatchEmbed(Stem):
    """Non-overlapping p x p patches, linearly embedded: a conv with kernel = stride = p (ViT, Mixer, ResMLP)."""

    def __init__(self, in_chans: int, dim: int, patch_size: int = 16, bias: bool = True) -> None:
        super().__init__()
        self.reduction, self.out_dim = patch_size, dim
        self.proj = nn.Conv2d(in_chans, dim, patch_size, stride=patch_size, bias=bias)

    def out_grid(self, grid: tuple[int, int]) -> tuple[int, int]:
        return grid[0] // self.reduction, grid[1] // self.reduction

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(x)


@STEMS.decorator("conv")
class ConvStem(Stem):
    """An overlapping conv, optionally followed by a norm (PoolFormer: 7x7 stride 4 padding 2)."""

    def __init__(
        self, in_chans: int, dim: int, kernel_size: int = 7, stride: int = 4, padding: int = 2, norm: Part | None = None
    ) -> None:
        super().__init__()
        self.kernel_size, self.reduction, self.padding, self.out_dim = kernel_size, stride, padding, dim
        self.conv = nn.Conv2d(in_chans, dim, kernel_size, stride=stride, padding=padding)
        self.norm = optional_norm(norm, dim)

    def out_grid(self, grid: tuple[int, int]) -> tuple[int, int]:
        return tuple(conv_out(g, self.kernel_size, self.reduction, self.padding) for g in grid)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.conv(x))


@STEMS.decorator("convmixer")
class ConvMixerStem(PatchEmbed):
    """ConvMixer's patch embedding: conv p x p stride p, then activation, then BatchNorm (act before norm)."""

    def __init__(self, in_chans: int, dim: int, patch_size: int = 7, act: str = "gelu") -> None:
        super().__init__(in_chans, dim, patch_size)
        self.act = make_act(act)
        self.norm = nn.BatchNorm2d(dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(self.act(self.proj(x)))

    @torch.no_grad()
    def merge(self) -> None:
        """BatchNorm after the activation: see ConvMixerBlock.merge (a ReLU lets its scale into the conv)."""
        if isinstance(self.norm, nn.BatchNorm2d):
            self.norm = fold_batchnorm_through_relu(self.proj, self.act, self.norm)


@STEMS.decorator("vit")
class ViTEmbed(PatchEmbed):
    """ViT's input: patch embedding, a prepended class token and a learned position embedding over all tokens.

    The position embedding is sized for img_size, so these models take that size only; at another one its
    grid part is resampled bicubically and the class token's kept (as timm's `resample_abs_pos_embed`).
    """

    layout = "nlc"
    fixed_input_size = True

    def __init__(
        self,
        in_chans: int,
        dim: int,
        img_size: int,
        patch_size: int = 16,
        class_token: bool = True,
        cls_token_std: float = 1e-6,  # timm's ViT; DeiT and the FF-only ViT: 0.02 (truncated at +-2)
    ) -> None:
        super().__init__(in_chans, dim, patch_size)
        self.cls_token_std = cls_token_std
        self.num_prefix_tokens = int(class_token)
        num_patches = (img_size // patch_size) ** 2
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim)) if class_token else None
        self.pos_embed = nn.Parameter(torch.zeros(1, num_patches + self.num_prefix_tokens, dim))

    def init_weights(self) -> None:
        trunc_normal_(self.pos_embed, std=0.02)
        if self.cls_token is not None:
            trunc_normal_(self.cls_token, std=self.cls_token_std)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.proj(x).flatten(2).transpose(1, 2)  # (B, N, C)
        if self.cls_token is not None:
            x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
        return x + self.pos_embed

    def fit_grid(self, saved: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {"pos_embed": resample_token_embed(saved["pos_embed"], self.pos_embed.shape[1], self.num_prefix_tokens)}


@DOWNSAMPLES.decorator("conv")
class ConvDownsample(Downsample):
    """norm (optional) then a strided conv that changes the width (PoolFormer: 3x3 stride 2 padding 1).

    pos_embed=True adds a learned, zero-initialised position embedding (dim, H, W) to the output: the
    PoolFormer paper's hybrids put one before their first attention stage (official `AddPositionEmb`). It
    fixes the input size; at another one it is resampled bicubically.
    """

    def __init__(
        self,
        in_dim: int,
        dim: int,
        grid: tuple[int, int] | None = None,  # the input grid, needed only for pos_embed
        kernel_size: int = 3,
        stride: int = 2,
        padding: int = 1,
        norm: Part | None = None,
        pos_embed: bool = False,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.reduction = stride
        self.norm = optional_norm(norm, in_dim)
        self.conv = nn.Conv2d(in_dim, dim, kernel_size, stride=stride, padding=padding, bias=bias)
        self.fixed_input_size = pos_embed
        self.pos_embed = None
        if pos_embed:
            if grid is None:
                raise ConfigError("a downsample with pos_embed needs the input grid")
            self.pos_embed = nn.Parameter(torch.zeros(1, dim, *self.out_grid(grid)))

    def out_grid(self, grid: tuple[int, int]) -> tuple[int, int]:
        return tuple(conv_out(g, self.kernel_size, self.stride, self.padding) for g in grid)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(self.norm(x))
        return x if self.pos_embed is None else x + self.pos_embed

    def fit_grid(self, saved: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {"pos_embed": resample_map(saved["pos_embed"], self.pos_embed.shape[2:])}


@STEMS.decorator("resnet")
class ResNetStem(Stem):
    """ResNet's stem (He et al. 2016, Table 1): 7x7/2 conv (no bias) -> BN -> ReLU -> 3x3/2 max-pool, to
    `width` channels (64), narrower than the first stage (256): the stage's first block projects it.
    deploy=True: its inference form, the BN fused into the conv's bias (as the official RepMLP deploy files)."""

    reduction = 4

    def __init__(self, in_chans: int, width: int = 64, deploy: bool = False) -> None:
        super().__init__()
        self.out_dim = width
        self.conv = nn.Conv2d(in_chans, width, 7, stride=2, padding=3, bias=deploy)
        self.norm = nn.Identity() if deploy else nn.BatchNorm2d(width)
        self.act = nn.ReLU()
        self.pool = nn.MaxPool2d(3, stride=2, padding=1)

    def out_grid(self, grid: tuple[int, int]) -> tuple[int, int]:
        return tuple(conv_out(conv_out(g, 7, 2, 3), 3, 2, 1) for g in grid)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.act(self.norm(self.conv(x))))

    @torch.no_grad()
    def reparameterize(self) -> None:
        """conv -> BN (eval statistics) as one biased conv: the layout of deploy=True."""
        if isinstance(self.norm, nn.BatchNorm2d):
            self.conv, self.norm = fuse_conv_bn(self.conv, self.norm), nn.Identity()

    merge = reparameterize
