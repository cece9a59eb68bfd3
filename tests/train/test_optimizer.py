"""The optimizer and schedule `Trainer._build_optimizer` makes: fused AdamW computes the update of the
per-tensor reference implementation, and a run no longer than its warm-up still decays the learning rate."""

from __future__ import annotations

import math
from types import SimpleNamespace

import torch
from torch import nn

from tokenmix.train.config import make_cfg
from tokenmix.train.trainer import Trainer


def build(model: nn.Module, steps_per_epoch: int, **cfg):
    cfg = make_cfg(cfg)
    fake = SimpleNamespace(
        cfg=cfg, model=model, steps_per_epoch=steps_per_epoch, total_steps=cfg.epochs * steps_per_epoch
    )
    fake._timm_scheduler = lambda optimizer, warmup: Trainer._timm_scheduler(fake, optimizer, warmup)
    return Trainer._build_optimizer(fake)


def test_fused_adamw_matches_the_per_tensor_reference():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.Flatten(), nn.Linear(8 * 6 * 6, 10))
    reference = [p.detach().clone().requires_grad_() for p in model.parameters()]
    optimizer, _ = build(model, 10, lr=3e-3, weight_decay=0.05)
    assert optimizer.defaults["fused"] is True
    index = {id(p): i for i, p in enumerate(model.parameters())}
    groups = [dict(g, params=[reference[index[id(p)]] for p in g["params"]]) for g in optimizer.param_groups]
    for g in groups:
        g.update(fused=False, foreach=False)
    ref_optimizer = torch.optim.AdamW(groups)
    assert {g["weight_decay"] for g in groups} == {0.0, 0.05}  # norms and biases are not decayed
    for _ in range(5):
        for p, r in zip(model.parameters(), reference, strict=True):
            p.grad = torch.randn_like(p)
            r.grad = p.grad.clone()
        optimizer.step()
        ref_optimizer.step()
    for p, r in zip(model.parameters(), reference, strict=True):
        torch.testing.assert_close(p.detach(), r.detach(), rtol=1e-6, atol=1e-7)


def test_a_run_no_longer_than_its_warmup_still_decays_to_min_lr():
    # epochs=2 with a 2-epoch warm-up used to warm up for the whole run and end at the peak rate
    optimizer, scheduler = build(nn.Linear(2, 2), 10, epochs=2, warmup_epochs=2, lr=1e-2, min_lr=1e-5, warmup_lr=1e-6)
    lrs = []
    for step in range(20):
        scheduler.step_update(step)
        lrs.append(optimizer.param_groups[0]["lr"])
    warmup = 10  # at most half the run
    assert math.isclose(lrs[warmup], 1e-2)
    for t in range(warmup, 20):  # cosine from the peak at the end of warm-up towards min_lr at the run's end
        expected = 1e-5 + 0.5 * (1e-2 - 1e-5) * (1 + math.cos(math.pi * (t - warmup) / (20 - warmup)))
        assert math.isclose(lrs[t], expected, rel_tol=1e-9)
    assert lrs[-1] < 0.05 * max(lrs)


def test_timm_step_schedule_decays_every_decay_epochs_per_update():
    """sched=step through timm's factory, stepped per optimizer update: lr * rate^floor(epoch / decay_epochs)."""
    optimizer, scheduler = build(nn.Linear(2, 2), 4, epochs=10, sched="step", decay_epochs=3, decay_rate=0.5,
                                 lr=1.0, warmup_epochs=0, min_lr=0.0)  # fmt: skip
    for t in range(40):
        scheduler.step_update(t)
        assert math.isclose(optimizer.param_groups[0]["lr"], 0.5 ** (t // 12)), t


def test_timm_poly_and_tanh_warm_up_then_fall_to_the_end():
    for sched in ("poly", "tanh"):  # poly's power is decay_rate (timm's convention): 1, a straight line
        optimizer, scheduler = build(nn.Linear(2, 2), 10, epochs=4, sched=sched, lr=1e-2, warmup_epochs=1,
                                     warmup_lr=1e-6, min_lr=1e-5, decay_rate=1.0)  # fmt: skip
        lrs = []
        for t in range(40):
            scheduler.step_update(t)
            lrs.append(optimizer.param_groups[0]["lr"])
        assert lrs[0] < 1e-3 and max(lrs) > 0.9e-2, sched
        assert all(b <= a + 1e-12 for a, b in zip(lrs[12:-1], lrs[13:], strict=True)) and lrs[-1] < 0.3e-2, sched


def test_sync_bn_converts_under_ddp_on_cuda_and_is_refused_on_cpu():
    """sync_bn: a no-op for one process; under DDP on CUDA every BatchNorm becomes a SyncBatchNorm holding the
    same parameters (the optimizer's tensors stay valid); under DDP on CPU, a one-line refusal."""
    import pytest

    import tokenmix
    from tokenmix.config import ConfigError
    from tokenmix.train.distributed import DistInfo, sync_batchnorm

    model = tokenmix.create_model("convmixer_digits")
    assert sync_batchnorm(model, True, DistInfo()) is model
    with pytest.raises(ConfigError, match="sync_bn needs CUDA"):
        sync_batchnorm(model, True, DistInfo(rank=0, world=2))
    params = {id(p) for p in model.parameters()}
    converted = sync_batchnorm(model, True, DistInfo(rank=0, world=2, device=torch.device("cuda", 0)))
    kinds = {type(m) for m in converted.modules()}
    assert nn.SyncBatchNorm in kinds and nn.BatchNorm2d not in kinds
    assert {id(p) for p in converted.parameters()} == params
    assert converted.state_dict().keys() == model.state_dict().keys()
