"""The one skeleton every tokenmix model is built from, and the timm-style model API, written once.

    image -> stem -> stage 1 -> ... -> stage S -> norm -> head (pool, norm, dropout, fc) -> logits

A stage is an optional downsample followed by `depth` blocks of one kind (tokenmix.layers.blocks). Its token
mixer says which tensor layout the stage runs in; the stage converts on entry and, unless it is the last one,
hands NCHW to the next. Isotropic models (Mixer, ResMLP, gMLP, ViT, ConvMixer) are one stage; hierarchical
ones (PoolFormer) are four.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
from torch import nn
from torch.fx._symbolic_trace import is_fx_symbolic_tracing
from torch.utils.checkpoint import checkpoint

from .config import ConfigError, ModelCfg, StageCfg, validate
from .init import SCHEMES, init_weights
from .layers.build import build, part_layout, to_layout
from .layers.grid import grid_of
from .layers.heads import ClassifierHead
from .registry import BLOCKS, DOWNSAMPLES, MIXERS, NORMS, STEMS


def drop_path_rates(cfg: ModelCfg) -> list[list[float]]:
    """Per-stage lists of per-block stochastic-depth rates."""
    total = cfg.depth
    if cfg.drop_path_schedule == "constant":
        flat = [cfg.drop_path_rate] * total
    else:  # linear from 0 at the first block to the peak at the last (Huang et al. 2016)
        flat = [cfg.drop_path_rate * i / max(total - 1, 1) for i in range(total)]
    out, start = [], 0
    for stage in cfg.stages:
        out.append(flat[start : start + stage.depth])
        start += stage.depth
    return out


class Stage(nn.Module):
    """An optional downsample, then `depth` blocks of one kind, in the layout its token mixer declares.

    What changes the grid says so through the contract of tokenmix.layers.contracts: the downsample, or the
    first block of a kind that takes the stage input. `reduction` is how many times smaller the stage's grid is
    than its input's.
    """

    def __init__(
        self,
        cfg: StageCfg,
        in_dim: int,
        in_layout: str,
        grid: tuple[int, int],
        num_prefix_tokens: int,
        drop_paths: list[float],
        is_last: bool,
    ) -> None:
        super().__init__()
        self.in_layout, self.layout = in_layout, part_layout(MIXERS, cfg.mixer)
        self.downsample, self.reduction = None, 1
        block_takes_input = BLOCKS.get(cfg.block.kind).takes_stage_input
        if cfg.downsample is not None:
            self.downsample = build(DOWNSAMPLES, cfg.downsample, in_dim=in_dim, dim=cfg.dim, grid=grid)
            grid, self.reduction, in_dim = self.downsample.out_grid(grid), self.downsample.reduction, cfg.dim
        elif in_dim != cfg.dim and not block_takes_input:
            raise ConfigError(f"a stage that changes width ({in_dim} -> {cfg.dim}) needs a downsample")
        spatial_input = in_layout != "nlc" or num_prefix_tokens == 0
        if not spatial_input and (self.downsample is not None or self.layout != "nlc" or not is_last):
            raise ConfigError("a token stem with a class token can only feed a single token-layout stage")
        self.out_layout = self.layout if is_last else "nchw"
        blocks = []
        for i, rate in enumerate(drop_paths):
            ctx = dict(dim=cfg.dim, layout=self.layout, num_tokens=grid[0] * grid[1] + num_prefix_tokens, grid=grid)
            if i == 0 and block_takes_input:
                ctx["in_dim"] = in_dim
            blocks.append(build(BLOCKS, cfg.block, stage=cfg, ctx=ctx, drop_path=rate))
            grid, self.reduction = blocks[-1].out_grid(grid), self.reduction * blocks[-1].reduction
        self.grid = grid
        self.blocks = nn.Sequential(*blocks)
        self.grad_checkpointing = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        layout = self.in_layout
        if self.downsample is not None:
            x, layout = self.downsample(to_layout(x, layout, "nchw")), "nchw"
        grid = grid_of(x, layout) or self.grid  # a token stem (no class token) has the configured grid
        x = to_layout(x, layout, self.layout, grid)
        for block in self.blocks:
            x = checkpoint(block, x, use_reentrant=False) if self.grad_checkpointing and self.training else block(x)
        return to_layout(x, self.layout, self.out_layout, grid)


class MetaFormer(nn.Module):
    """A tokenmix model. Build it from a ModelCfg, or by name with tokenmix.create_model."""

    def __init__(self, cfg: ModelCfg) -> None:
        super().__init__()
        validate(cfg)
        if cfg.init not in SCHEMES:
            raise ConfigError(f"unknown init scheme {cfg.init!r}; known: {', '.join(SCHEMES)}")
        self.cfg = cfg
        self.num_classes, self.in_chans, self.img_size = cfg.num_classes, cfg.in_chans, cfg.img_size
        self.stem = build(STEMS, cfg.stem, in_chans=cfg.in_chans, dim=cfg.stages[0].dim, img_size=cfg.img_size)
        self.num_prefix_tokens = self.stem.num_prefix_tokens
        grid = self.stem.out_grid((cfg.img_size, cfg.img_size))
        if min(grid) < 1:
            raise ConfigError(f"img_size {cfg.img_size} is smaller than the stem's patch ({self.stem.reduction})")
        in_dim = self.stem.out_dim
        layout, stages, self.feature_info = self.stem.layout, [], []
        reduction = self.stem.reduction
        for i, (stage_cfg, rates) in enumerate(zip(cfg.stages, drop_path_rates(cfg), strict=True)):
            stage = Stage(stage_cfg, in_dim, layout, grid, self.num_prefix_tokens, rates, i == len(cfg.stages) - 1)
            reduction *= stage.reduction
            self.feature_info.append(dict(num_chs=stage_cfg.dim, reduction=reduction, module=f"stages.{i}"))
            stages.append(stage)
            grid, layout, in_dim = stage.grid, stage.out_layout, stage_cfg.dim
        self.stages = nn.Sequential(*stages)
        if len(stages) == 1:  # the taps of a one-stage model are its blocks (timm's feature_info contract)
            info = self.feature_info[0]
            self.feature_info = [{**info, "module": f"stages.0.blocks.{b}"} for b in range(len(stages[0].blocks))]
        self.feature_layout = layout
        self.num_features = self.head_hidden_size = in_dim
        feature_norm = cfg.head.feature_norm
        self.norm = build(NORMS, feature_norm, dim=in_dim, layout=layout) if feature_norm else nn.Identity()
        self.head = self._make_head(cfg.num_classes, cfg.head.pool)
        self.fixed_input_size = self._needs_fixed_input_size()
        self.pretrained_cfg: dict[str, Any] = {}
        init_weights(self, cfg.init)

    def _make_head(self, num_classes: int, pool: str) -> ClassifierHead:
        return ClassifierHead(
            self.num_features, num_classes, pool, self.feature_layout, self.cfg.head.norm, self.cfg.drop_rate,
            self.num_prefix_tokens, self.cfg.head.mlp_ratio, self.cfg.head.mlp_norm_eps, self.cfg.head.mlp_drop,
        )  # fmt: skip

    def _needs_fixed_input_size(self) -> bool:
        """True when a part's weights are sized by the token count (token MLPs, position embeddings)."""
        if self.stem.fixed_input_size or any(s.downsample and s.downsample.fixed_input_size for s in self.stages):
            return True
        sized = ("num_tokens", "grid")  # a mixer that takes either is sized by the token grid
        params = [inspect.signature(MIXERS.get(s.mixer.kind)).parameters for s in self.cfg.stages]
        return any(p in ps for ps in params for p in sized)

    # ---- forward ----------------------------------------------------------------------------------------------
    def check_input(self, x: torch.Tensor) -> None:
        if is_fx_symbolic_tracing():  # a traced shape has no value to check (torchvision's feature extractor)
            return
        expected = (
            f"{self.in_chans}×{self.img_size}×{self.img_size}" if self.fixed_input_size else f"{self.in_chans}×H×W"
        )
        ok = x.ndim == 4 and x.shape[1] == self.in_chans
        if ok and self.fixed_input_size:
            ok = tuple(x.shape[2:]) == (self.img_size, self.img_size)
        if not ok:
            got = "×".join(map(str, x.shape[1:])) if x.ndim == 4 else f"a {x.ndim}-d tensor of shape {tuple(x.shape)}"
            raise ValueError(f"expected a batch of {expected} images, got {got}")

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Features of the last stage, normed, in the last stage's layout (as timm returns them)."""
        self.check_input(x)
        return self.norm(self.stages(self.stem(x)))

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        return self.head(x, pre_logits=pre_logits)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))

    def forward_intermediates(
        self,
        x: torch.Tensor,
        indices: int | list[int] | None = None,
        norm: bool = False,
        stop_early: bool = False,
        output_fmt: str = "NCHW",
        intermediates_only: bool = False,
        return_prefix_tokens: bool = False,
    ) -> list[Any] | tuple[torch.Tensor, list[Any]]:
        """timm's feature-extraction API. Intermediates are the outputs of each stage (hierarchical models) or
        of each block (one-stage models); `indices` is a count of the last ones or a list of positions.

        norm: the final norm also on the taken taps of the last stage (the others have other widths).
        stop_early: with intermediates_only, run no further than the last tap taken.
        return_prefix_tokens: each intermediate as (patch features, class tokens (B, prefix, C))."""
        self.check_input(x)
        taps = self._taps()
        take = _take_indices(len(taps), indices)
        stop = max(take) + 1 if stop_early and intermediates_only else len(taps)
        x, out = self.stem(x), []
        for i, (run, layout, grid_fn, in_last_stage) in enumerate(taps[:stop]):
            x = run(x)
            if i in take:
                y = self.norm(x) if norm and in_last_stage else x
                features = _format_intermediate(y, layout, grid_fn(), self.num_prefix_tokens, output_fmt)
                out.append(
                    (features, _prefix_tokens(y, layout, self.num_prefix_tokens)) if return_prefix_tokens else features
                )
        if intermediates_only:
            return out
        return self.norm(x), out

    def _taps(self) -> list[tuple[Any, str, Any, bool]]:
        """(run, layout, grid, in the configured last stage) for each tap, in order."""
        unpruned = len(self.stages) == len(self.cfg.stages)
        if len(self.cfg.stages) > 1:
            last = len(self.stages) - 1
            return [(s, s.out_layout, lambda s=s: s.grid, unpruned and i == last) for i, s in enumerate(self.stages)]
        stage = self.stages[0]

        def enter(x: torch.Tensor) -> torch.Tensor:  # the stage's own entry conversion, then its first block
            layout = stage.in_layout
            if stage.downsample is not None:
                x, layout = stage.downsample(to_layout(x, layout, "nchw")), "nchw"
            return stage.blocks[0](to_layout(x, layout, stage.layout, stage.grid))

        runs = [enter] + list(stage.blocks[1:])
        return [(r, stage.layout, lambda: stage.grid, True) for r in runs]

    def prune_intermediate_layers(
        self, indices: int | list[int] = 1, prune_norm: bool = False, prune_head: bool = True
    ) -> list[int]:
        """Drop the stages (or blocks) after the last tap in `indices`, and optionally the final norm and the
        classifier (timm's API). Returns the taps as positions counted from the first."""
        take = sorted(_take_indices(len(self._taps()), indices))
        keep = take[-1] + 1
        if len(self.cfg.stages) > 1:
            self.stages = self.stages[:keep]
        else:
            self.stages[0].blocks = self.stages[0].blocks[:keep]
        if prune_norm:
            self.norm = nn.Identity()
        if prune_head:
            self.reset_classifier(0, "")
        return take

    def set_input_size(self, img_size: int | tuple[int, int] | None = None, patch_size: Any = None) -> None:
        """The input size the model checks and reports. A model whose weights are sized by its token grid is
        refused: create_model(name, img_size=N, checkpoint_path=...) resizes those weights."""
        if patch_size is not None:
            raise ValueError("tokenmix models cannot change their patch size after they are built")
        if img_size is None:
            return
        size = _square(img_size)
        if self.fixed_input_size and size != self.img_size:
            name = self.pretrained_cfg.get("architecture", "this model")
            raise ValueError(
                f"{name} has weights sized by its token grid at {self.img_size} px; to run it at {size} px build it "
                f"with create_model({name!r}, img_size={size}, checkpoint_path=...), which resizes them"
            )
        self.img_size, self.cfg = size, self.cfg.replace(img_size=size)
        if self.pretrained_cfg:
            self.pretrained_cfg["input_size"] = (self.in_chans, size, size)

    # ---- timm's model API ------------------------------------------------------------------------------------
    def get_classifier(self) -> nn.Module:
        return self.head.fc

    def reset_classifier(self, num_classes: int, global_pool: str | None = None) -> None:
        """A new classifier for `num_classes` (0: none, forward returns pooled features)."""
        pool = self.head.pool_kind if global_pool is None else global_pool
        if pool not in ("avg", "max", "token", ""):
            raise ValueError(f"global_pool must be 'avg', 'max', 'token' or '', got {pool!r}")
        device = next(self.parameters()).device
        old_norm = self.head.norm
        self.num_classes = num_classes
        self.head = self._make_head(num_classes, pool).to(device).train(self.training)
        self.head.norm = old_norm  # the trained pre-logits norm stays

    def no_weight_decay(self) -> set[str]:
        """Parameters kept out of weight decay besides timm's default of all 1-d tensors (norms, biases, scales)."""
        return {name for name, p in self.named_parameters() if name.endswith(("pos_embed", "cls_token"))}

    def group_matcher(self, coarse: bool = False) -> dict[str, Any]:
        """Layer groups for timm's layer-wise learning-rate decay."""
        blocks = (
            r"^stages\.(\d+)"
            if coarse
            else [(r"^stages\.(\d+)\.downsample", (0,)), (r"^stages\.(\d+)\.blocks\.(\d+)", None)]
        )
        return dict(stem=r"^stem", blocks=blocks)

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        for stage in self.stages:
            stage.grad_checkpointing = enable

    @property
    def default_cfg(self) -> dict[str, Any]:
        return self.pretrained_cfg

    # ---- inference form ---------------------------------------------------------------------------------------
    def deploy(self, channels_last: bool | None = None) -> MetaFormer:
        """This model, rewritten in place into its inference form (same logits, less work): tokenmix.deploy."""
        from .deploy import deploy

        return deploy(self, channels_last=channels_last)

    @torch.no_grad()
    def merge(self) -> None:
        """The final feature norm's affine into the classifier, where pooling commutes with it. After this,
        forward_features returns the features without that affine (the logits are unchanged)."""
        if self.head.takes_feature_affine():
            from .layers.fold import fold_norm_into

            self.norm = fold_norm_into(self.norm, self.head)


def _take_indices(n: int, indices: int | list[int] | None) -> set[int]:
    """Tap positions from timm's `indices`: None (all), a count of the last ones, or positions (negative: from
    the end)."""
    if indices is None:
        return set(range(n))
    if isinstance(indices, int):
        if not 0 < indices <= n:
            raise ValueError(f"expected to take 1 to {n} intermediates, got {indices}")
        return set(range(n - indices, n))
    if not all(-n <= i < n for i in indices):
        raise ValueError(f"expected intermediate positions in [{-n}, {n - 1}], got {list(indices)}")
    return {i % n for i in indices}


def _square(size: int | tuple[int, int] | list[int]) -> int:
    """An image side from timm's img_size (an int, or an (H, W) pair with H == W)."""
    if isinstance(size, int):
        return size
    if len(size) != 2 or size[0] != size[1]:
        raise ValueError(f"expected a square image size, got {tuple(size)}")
    return int(size[0])


def _prefix_tokens(x: torch.Tensor, layout: str, prefix: int) -> torch.Tensor:
    """The class tokens of a token-layout tap, (B, prefix, C); (B, 0, C) where there are none."""
    if layout == "nlc":
        return x[:, :prefix]
    return x.new_zeros(x.shape[0], 0, x.shape[1] if layout == "nchw" else x.shape[-1])


def _format_intermediate(
    x: torch.Tensor, layout: str, grid: tuple[int, int], prefix: int, output_fmt: str
) -> torch.Tensor:
    if output_fmt not in ("NCHW", "NLC"):
        raise ValueError(f"output_fmt must be 'NCHW' or 'NLC', got {output_fmt!r}")
    if layout == "nlc":
        x = x[:, prefix:]
    if output_fmt == "NLC":
        return to_layout(x, layout, "nlc")
    return to_layout(x, layout, "nchw", grid)
