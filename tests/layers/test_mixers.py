"""Every registered token mixer works in an isotropic and in a four-stage net: each block keeps the shape and
the layout its mixer declares, the logits come out, and a gradient reaches every parameter. A new mixer gets
these tests by being registered; `SETUP` holds the few that need a special block or arguments."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import torch

from tokenmix import MetaFormer, ModelCfg, StageCfg, part
from tokenmix.config import HeadCfg
from tokenmix.registry import MIXERS

from ..helpers import randomize_

CHANNELS = {"nchw": 1, "nhwc": -1, "nlc": -1}


def _mixer_args(kind: str, dim: int, grid: tuple[int, int]) -> dict[str, Any]:
    """The arguments a mixer needs for this stage (what its family's config would pass)."""
    if kind == "permute":  # its H and W Linears are Linear(C, C): the grid side must equal segment_dim
        return {"segment_dim": grid[0]}
    if kind.startswith("repmlp_"):
        return {"partition": (2, 2)}
    if kind == "attention":
        return {"head_dim": 8}
    if kind == "sequence_attention":
        return {"num_heads": 2}
    return {}


GATES = ("spatial_gating", "sequence_gating", "toeplitz_gating")  # gates inside gMLP's gated MLP


def _stage(kind: str, depth: int, dim: int, grid: tuple[int, int], downsample: bool) -> StageCfg:
    mixer = part(kind, **_mixer_args(kind, dim, grid))
    extra: dict[str, Any] = {}
    if kind in GATES:
        extra = dict(block=part("gated"), mlp=part("gated_mlp", ratio=2.0))
    if downsample:
        extra["downsample"] = part("conv", kernel_size=2, stride=2, padding=0)
    return StageCfg(depth, dim, mixer=mixer, norm=part("layernorm"), layer_scale=None, **extra)


def isotropic(kind: str) -> ModelCfg:
    """16 px, 2 px patches: one stage of two blocks on an 8 x 8 grid at width 16."""
    stem = part("patch", patch_size=2)
    return ModelCfg(stem, (_stage(kind, 2, 16, (8, 8), False),), HeadCfg(), img_size=16, num_classes=5)


def four_stage(kind: str) -> ModelCfg:
    """32 px, 2 px patches, then 2x downsampling: grids 16, 8, 4, 2 at widths 16, 32, 48, 64 (each a multiple
    of its grid side, as the permute mixer needs)."""
    grids, dims = (16, 8, 4, 2), (16, 32, 48, 64)
    stages = tuple(_stage(kind, 1, d, (g, g), i > 0) for i, (g, d) in enumerate(zip(grids, dims, strict=True)))
    return ModelCfg(part("patch", patch_size=2), stages, HeadCfg(), img_size=32, num_classes=5)


def _check_layouts(model: MetaFormer) -> list:
    """Forward hooks asserting that every block returns its input's shape, laid out as its stage declares."""
    handles = []
    for stage, stage_cfg in zip(model.stages, model.cfg.stages, strict=True):

        def check(block, inputs, output, layout=stage.layout, dim=stage_cfg.dim):
            (x,) = inputs
            assert output.shape == x.shape
            assert x.ndim == (3 if layout == "nlc" else 4) and x.shape[CHANNELS[layout]] == dim

        handles += [block.register_forward_hook(check) for block in stage.blocks]
    return handles


@pytest.mark.parametrize("make", [isotropic, four_stage])
@pytest.mark.parametrize("kind", sorted(MIXERS.names()))
def test_every_mixer_builds_runs_and_trains(kind: str, make) -> None:
    cfg = make(kind)
    model = randomize_(MetaFormer(cfg), seed=0).train()
    for stage, stage_cfg in zip(model.stages, cfg.stages, strict=True):
        assert stage.layout == MIXERS.get(stage_cfg.mixer.kind).layout
    handles = _check_layouts(model)
    x = torch.randn(2, 3, cfg.img_size, cfg.img_size)
    logits = model(x)
    for h in handles:
        h.remove()
    assert logits.shape == (2, 5)
    (logits * torch.randn_like(logits)).sum().backward()
    dead = [n for n, p in model.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert not dead, f"no gradient reaches {dead}"


@pytest.mark.parametrize("kind", sorted(MIXERS.names()))
def test_every_mixer_gives_the_same_logits_and_gradients_in_channels_last(kind: str) -> None:
    """The trainer moves a model's 4-D tensors to channels_last (every 4-D parameter, not only conv kernels:
    GFNet's (H, W, C, 2) filter too), so a mixer must not depend on its weights' strides. Found by the ablation
    grid: global_filter failed at its first step there. In float64, so that the two summation orders agree to
    far below any real difference."""
    cfg = four_stage(kind)
    x = torch.randn(2, 3, cfg.img_size, cfg.img_size, dtype=torch.float64)
    built, grads = randomize_(MetaFormer(cfg), seed=0).double().train(), []
    for fmt in (torch.contiguous_format, torch.channels_last):
        model = copy.deepcopy(built).to(memory_format=fmt)
        logits = model(x.to(memory_format=fmt))
        logits.square().sum().backward()
        grads.append((logits.detach(), {n: p.grad for n, p in model.named_parameters()}))
    (ref, ref_grads), (got, got_grads) = grads
    torch.testing.assert_close(got, ref, rtol=1e-10, atol=1e-10)
    for name, grad in ref_grads.items():
        torch.testing.assert_close(got_grads[name], grad, rtol=1e-9, atol=1e-9, msg=name)
