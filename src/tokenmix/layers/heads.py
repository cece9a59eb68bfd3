"""The classifier head: pool -> norm -> dropout -> fc, in whatever layout the last stage ends in."""

from __future__ import annotations

import torch
from torch import nn

from ..config import Part
from ..registry import NORMS
from .acts import SquaredReLU
from .build import build
from .fold import fold_norm_into


class MlpClassifier(nn.Module):
    """The MLP classifier of ConvFormer/CAFormer (Yu et al. 2022b): fc1 -> SquaredReLU -> LayerNorm -> fc2.

    Keys and the default eps (1e-6) follow timm's `MlpHead`, so its weights load as `head.fc.*`.
    """

    def __init__(
        self, dim: int, num_classes: int, ratio: float = 4.0, norm_eps: float = 1e-6, drop_rate: float = 0.0
    ) -> None:
        super().__init__()
        hidden = int(ratio * dim)
        self.fc1 = nn.Linear(dim, hidden)
        self.act = SquaredReLU()
        self.norm = nn.LayerNorm(hidden, eps=norm_eps)
        self.drop = nn.Dropout(drop_rate)
        self.fc2 = nn.Linear(hidden, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.drop(self.norm(self.act(self.fc1(x)))))


class ClassifierHead(nn.Module):
    def __init__(
        self,
        dim: int,
        num_classes: int,
        pool: str,
        layout: str,
        norm: Part | None = None,
        drop_rate: float = 0.0,
        num_prefix_tokens: int = 0,
        mlp_ratio: float | None = None,
        mlp_norm_eps: float = 1e-6,
        mlp_drop: float = 0.0,
    ) -> None:
        super().__init__()
        self.dim, self.pool_kind, self.layout, self.num_prefix_tokens = dim, pool, layout, num_prefix_tokens
        self.norm = build(NORMS, norm, dim=dim, layout="nlc") if norm is not None else nn.Identity()
        self.drop = nn.Dropout(drop_rate)
        if num_classes == 0:
            self.fc = nn.Identity()
        elif mlp_ratio is None:
            self.fc = nn.Linear(dim, num_classes)
        else:
            self.fc = MlpClassifier(dim, num_classes, mlp_ratio, mlp_norm_eps, mlp_drop)

    def pool(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C) from the last stage's output: the mean ("avg") or maximum ("max") over the grid or the patch
        tokens, or the class token ("token"); pool "" leaves the features unpooled."""
        if self.pool_kind == "token":
            return x[:, 0]
        if self.pool_kind == "":
            return x
        if self.layout == "nlc":
            x, dims = x[:, self.num_prefix_tokens :], (1,)
        else:
            dims = (2, 3) if self.layout == "nchw" else (1, 2)
        return x.amax(dims) if self.pool_kind == "max" else x.mean(dims)

    def forward(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        x = self.drop(self.norm(self.pool(x)))
        return x if pre_logits else self.fc(x)

    def absorb_input_affine_(self, weight: torch.Tensor | None, bias: torch.Tensor | None) -> None:
        """A per-channel affine on the unpooled features, moved into the classifier (tokenmix.deploy). Average
        and class-token pooling commute with it; the head's own norm must be gone or affine-free first."""
        from .fold import absorb_input_affine_

        absorb_input_affine_(self.fc, weight, bias)

    def takes_feature_affine(self) -> bool:
        pools_commute = self.pool_kind in ("avg", "token")
        return pools_commute and isinstance(self.norm, nn.Identity) and isinstance(self.fc, nn.Linear)

    @torch.no_grad()
    def merge(self) -> None:
        """The pre-logits norm's affine into fc (PoolFormer's timm head)."""
        if isinstance(self.fc, nn.Linear):
            self.norm = fold_norm_into(self.norm, self)
