"""The training loop: data -> model -> loss -> optimizer -> checkpoint, one optimizer step at a time.

A step is one global batch (config batch_size), split over ranks and then into grad_accum micro-batches. The
global step counter is the only position a run has: epoch = step // steps_per_epoch, and the batch and its
augmentation are functions of (seed, epoch, step). A checkpoint therefore holds weights, optimizer, scheduler,
RNG states and counters, and a resumed run repeats the uninterrupted one bit for bit (CPU, deterministic mode,
same thread count).

A non-finite loss is never stepped on: the run stops and names the step (NonFiniteLoss, exit code 3).
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from ..data.batches import Shard
from ..data.pipeline import DataInfo, open_data
from ..data.seeds import derive_seed
from ..evaluate import Counts, evaluate
from ..factory import create_model
from . import checkpoints, report
from .config import TrainCfg
from .distributed import DistInfo, all_sum, any_rank, gather_objects
from .runtime import amp_dtype, autocast, memory_format, seed_everything

# Test hook: the loss of this (1-based) optimizer step is replaced by NaN, to exercise the non-finite policy.
NAN_AT_STEP_ENV = "TOKENMIX_TEST_NAN_AT_STEP"


class NonFiniteLoss(RuntimeError):
    """The loss became NaN or Inf; no optimizer step was taken on it."""


class Trainer:
    def __init__(self, cfg: TrainCfg, run_dir: Path, info: DistInfo, resume: Path | None = None) -> None:
        self.cfg, self.run_dir, self.dist = cfg, run_dir, info
        self.device = info.device
        self.batches, self.data = open_data(cfg, Shard(info.rank, info.world))  # fails early on bad data
        seed_everything(cfg.seed, info.rank, cfg.deterministic, cfg.threads)
        if self.batches.local_batch % cfg.grad_accum:
            raise ValueError(
                f"the per-process batch {self.batches.local_batch} is not divisible by grad_accum {cfg.grad_accum}"
            )
        self.steps_per_epoch = self.batches.steps_per_epoch
        self.total_steps = cfg.epochs * self.steps_per_epoch
        self.model = self._build_model()
        self.amp = amp_dtype(cfg.amp, self.device)
        self.scaler = torch.amp.GradScaler("cuda") if self.amp == torch.float16 else None
        self.optimizer, self.scheduler = self._build_optimizer()
        self.ema = self._build_ema()
        self.train_model = self._wrap(self.model)
        self.mixup, self.loss_fn = self._build_loss()
        self.step, self.history, self.best_top1 = 0, [], None
        self.train_time, self.train_images = 0.0, 0
        self.epoch_sums = [0.0, 0.0, 0.0]  # loss sum, correct, count of the current epoch (all ranks)
        if resume is not None:
            self._load(resume)

    # ---- construction --------------------------------------------------------------------------------------
    def _build_model(self) -> nn.Module:
        cfg, data = self.cfg, self.data
        model = create_model(
            cfg.model,
            num_classes=data.num_classes,
            in_chans=data.in_chans,
            img_size=data.img_size,
            drop_path_rate=cfg.drop_path,
            drop_rate=cfg.drop,
            **cfg.model_options,
        )
        self.memory_format = memory_format(cfg.channels_last, cfg.model, self.device)
        return model.to(self.device, memory_format=self.memory_format)

    def _build_optimizer(self):
        from timm.optim import create_optimizer_v2
        from timm.scheduler import CosineLRScheduler

        cfg = self.cfg
        # filter_bias_and_bn: 1-d tensors (norms, biases, scales) and model.no_weight_decay() get no decay
        # fused AdamW: one kernel over all parameters instead of ~10 per tensor (torch's CPU default is the
        # per-tensor loop); same update to float rounding (tests/train/test_optimizer.py)
        kwargs = dict(momentum=cfg.momentum, nesterov=True) if cfg.opt == "sgd" else dict(fused=True)
        optimizer = create_optimizer_v2(self.model, opt=cfg.opt, lr=cfg.lr, weight_decay=cfg.weight_decay, **kwargs)
        # at most half the run warms up, so a run no longer than its warm-up still decays the learning rate
        warmup = min(round(cfg.warmup_epochs * self.steps_per_epoch), self.total_steps // 2)
        scheduler = CosineLRScheduler(
            optimizer,
            t_initial=self.total_steps - warmup,
            lr_min=cfg.lr if cfg.sched == "constant" else cfg.min_lr,
            warmup_t=warmup,
            warmup_lr_init=cfg.warmup_lr,
            warmup_prefix=True,
            # stepped per optimizer update (step_update), so a mid-epoch resume lands exactly
            t_in_epochs=False,
        )
        return optimizer, scheduler

    def _build_ema(self):
        if not self.cfg.ema:
            return None
        from timm.utils import ModelEmaV3

        return ModelEmaV3(self.model, decay=self.cfg.ema_decay, use_warmup=True)

    def _wrap(self, model: nn.Module) -> nn.Module:
        if self.cfg.compile:
            model = torch.compile(model)
        if self.dist.enabled:
            ids = [self.device.index] if self.device.type == "cuda" else None
            model = DistributedDataParallel(model, device_ids=ids)
        return model

    def _build_loss(self):
        from timm.data import Mixup
        from timm.loss import LabelSmoothingCrossEntropy, SoftTargetCrossEntropy

        cfg = self.cfg
        if cfg.mixup > 0 or cfg.cutmix > 0:
            mixup = Mixup(
                mixup_alpha=cfg.mixup,
                cutmix_alpha=cfg.cutmix,
                label_smoothing=cfg.smoothing,
                num_classes=self.data.num_classes,
            )
            return mixup, SoftTargetCrossEntropy()
        if cfg.smoothing > 0:
            return None, LabelSmoothingCrossEntropy(cfg.smoothing)
        return None, nn.CrossEntropyLoss()

    # ---- one optimizer step --------------------------------------------------------------------------------
    def _micro_batches(self, x: torch.Tensor, y: torch.Tensor, epoch: int, step: int):
        n = self.cfg.grad_accum
        for i, (xm, ym) in enumerate(zip(x.chunk(n), y.chunk(n), strict=True)):
            target = ym
            if self.mixup is not None:
                if len(xm) % 2:
                    raise ValueError(f"mixup needs an even micro-batch, got {len(xm)}")
                # timm's Mixup draws from numpy's global generator: seed it from the counters
                np.random.seed(derive_seed(self.cfg.seed, "mixup", epoch, step, self.dist.rank, i) % 2**32)
                xm, target = self.mixup(xm, ym)
            yield i == n - 1, xm, ym, target

    def train_step(self, epoch: int, step_in_epoch: int, x: torch.Tensor, y: torch.Tensor) -> None:
        cfg, model = self.cfg, self.train_model
        self.scheduler.step_update(self.step)  # lr of this update
        self.optimizer.zero_grad(set_to_none=True)
        x, y = x.to(self.device, memory_format=self.memory_format), y.to(self.device)
        finite, loss_sum, correct = True, 0.0, 0
        for last, xm, ym, target in self._micro_batches(x, y, epoch, step_in_epoch):
            sync = nullcontext() if last or not self.dist.enabled else model.no_sync()
            with sync:
                with autocast(self.device, self.amp):
                    logits = model(xm)
                    loss = self.loss_fn(logits, target)
                loss = self._inject_fault(loss)
                finite = finite and bool(torch.isfinite(loss))
                scaled = loss / cfg.grad_accum
                (self.scaler.scale(scaled) if self.scaler else scaled).backward()
            loss_sum += loss.item() * len(ym)
            correct += (logits.argmax(1) == ym).sum().item()
        if any_rank(not finite, self.dist):
            lr = self.optimizer.param_groups[0]["lr"]
            raise NonFiniteLoss(
                f"non-finite loss at step {self.step + 1} (epoch {epoch + 1}, lr {lr:.3g}); "
                f"no update was made, "
                f"the last good checkpoint is in {self.run_dir / 'checkpoints'}"
            )
        self._optimizer_step()
        self.step += 1
        if self.ema is not None:
            self.ema.update(self.model, self.step)
        self.epoch_sums = [a + b for a, b in zip(self.epoch_sums, [loss_sum, correct, len(y)], strict=True)]

    def _inject_fault(self, loss: torch.Tensor) -> torch.Tensor:
        if os.environ.get(NAN_AT_STEP_ENV) == str(self.step + 1):
            return loss * float("nan")
        return loss

    def _optimizer_step(self) -> None:
        if self.scaler is not None:
            self.scaler.unscale_(self.optimizer)
        if self.cfg.clip_grad is not None:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.clip_grad)
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()

    # ---- the loop ------------------------------------------------------------------------------------------
    def fit(self) -> dict[str, Any]:
        tb = report.TensorBoard(self.run_dir / "tb", purge_step=self.step or None) if self.dist.is_main else None
        start_epoch = self.step // self.steps_per_epoch
        for epoch in range(start_epoch, self.cfg.epochs):
            self._train_epoch(epoch, start_step=self.step - epoch * self.steps_per_epoch)
            row = self._end_epoch(epoch)
            if tb is not None:
                tb.scalars(row, self.step)
            self.save_checkpoint()
            self._print(self._epoch_line(row))
            self._report_skipped()
        summary = self.finish()
        if tb is not None:
            tb.close()
        return summary

    def _train_epoch(self, epoch: int, start_step: int) -> None:
        from tqdm import tqdm

        show = None if self.dist.is_main and self.cfg.progress else True  # None: only on a terminal
        bar = tqdm(
            total=self.steps_per_epoch,
            initial=start_step,
            desc=f"epoch {epoch + 1}/{self.cfg.epochs}",
            file=sys.stderr,
            disable=show,
            leave=False,
            unit="step",
        )
        t0, images = time.perf_counter(), 0
        for step_in_epoch, x, y in self.batches.train_epoch(epoch, start_step):
            self.train_step(epoch, step_in_epoch, x, y)
            images += len(y) * self.dist.world
            if not bar.disable:
                loss, correct, count = self.epoch_sums
                rate = images / max(time.perf_counter() - t0, 1e-9)
                bar.set_postfix(
                    loss=f"{loss / max(count, 1):.4f}",
                    acc=f"{100 * correct / max(count, 1):.1f}%",
                    img_s=f"{rate:.0f}",
                    refresh=False,
                )
            bar.update(1)
            last = step_in_epoch == self.steps_per_epoch - 1
            if self.cfg.checkpoint_every and self.step % self.cfg.checkpoint_every == 0 and not last:
                self._add_time(t0, images)  # the epoch-end checkpoint covers the last step, after evaluation
                t0, images = time.perf_counter(), 0
                self.save_checkpoint()
        bar.close()
        self._add_time(t0, images)

    def _add_time(self, t0: float, images: int) -> None:
        self.train_time += time.perf_counter() - t0
        self.train_images += images

    def evaluate(self, model: nn.Module) -> Counts:
        counts = evaluate(
            model,
            self.batches.test_batches(self.cfg.eval_batch_size),
            self.data.num_classes,
            self.device,
            autocast(self.device, self.amp),
            self.memory_format,
        )
        loss_sum, top1, top5, count = all_sum([counts.loss_sum, counts.top1, counts.top5, counts.count], self.dist)
        return Counts(loss_sum, int(top1), int(top5), int(count), counts.confusion)

    def _end_epoch(self, epoch: int) -> dict[str, Any]:
        loss_sum, correct, count = all_sum(self.epoch_sums, self.dist) if self.dist.enabled else self.epoch_sums
        test = self.evaluate(self.model)
        ema_top1 = self.evaluate(self.ema.module).top1_pct if self.ema is not None else None
        row = dict(
            epoch=epoch + 1,
            step=self.step,
            lr=self.optimizer.param_groups[0]["lr"],
            train_loss=loss_sum / max(count, 1),
            train_top1=100 * correct / max(count, 1),
            test_loss=test.loss,
            test_top1=test.top1_pct,
            test_top5=test.top5_pct,
            ema_top1=ema_top1,
            images_per_s=self.train_images / max(self.train_time, 1e-9),
            elapsed_s=self.train_time,
        )
        self.history.append(row)
        self.best_top1 = max(self.best_top1 or 0.0, test.top1_pct, ema_top1 or 0.0)
        self.epoch_sums = [0.0, 0.0, 0.0]
        if self.dist.is_main:
            report.write_metrics(self.run_dir / "metrics.csv", self.history)
        return row

    def _epoch_line(self, r: dict[str, Any]) -> str:
        ema = f"  ema {r['ema_top1']:.2f}%" if r["ema_top1"] is not None else ""
        return (
            f"epoch {r['epoch']:>3}/{self.cfg.epochs}  "
            f"train loss {r['train_loss']:.4f} acc {r['train_top1']:.2f}%  "
            f"test loss {r['test_loss']:.4f} top-1 {r['test_top1']:.2f}%{ema}  {r['images_per_s']:.0f} img/s"
        )

    def _report_skipped(self) -> None:
        """Image folders: list the files that could not be decoded (skipped, not fatal)."""
        skipped = sorted(getattr(self.batches, "skipped", ()))
        if skipped and self.dist.is_main:
            shown = ", ".join(skipped[:5]) + (f" and {len(skipped) - 5} more" if len(skipped) > 5 else "")
            print(f"warning: skipped {len(skipped)} unreadable image(s): {shown}", file=sys.stderr, flush=True)

    def _print(self, line: str) -> None:
        if self.dist.is_main:
            print(line, flush=True)

    # ---- checkpoints ---------------------------------------------------------------------------------------
    def _metadata(self) -> dict[str, str]:
        d = self.data
        return dict(
            format="pt",
            architecture=self.cfg.model,
            config=self.model.cfg.to_json(),
            data=d.name,
            mean=json.dumps(d.mean),
            std=json.dumps(d.std),
            classes=json.dumps(list(d.classes)),
        )

    def _rng_state(self) -> dict[str, Any]:
        state = dict(torch=torch.get_rng_state(), python=random.getstate())
        if self.device.type == "cuda":
            state["cuda"] = torch.cuda.get_rng_state(self.device)
        return state

    def save_checkpoint(self) -> None:
        rngs = gather_objects(self._rng_state(), self.dist)  # every rank's generators (dropout, drop path)
        sums = all_sum(self.epoch_sums, self.dist)
        if not self.dist.is_main:
            return
        tensors = {"model": self.model.state_dict()}
        if self.ema is not None:
            tensors["ema"] = self.ema.module.state_dict()
        state = dict(optimizer=self.optimizer.state_dict(), scheduler=self.scheduler.state_dict(), rng=rngs)
        if self.scaler is not None:
            state["scaler"] = self.scaler.state_dict()
        info = dict(
            step=self.step,
            steps_per_epoch=self.steps_per_epoch,
            world=self.dist.world,
            config=self.cfg.to_dict(),
            history=self.history,
            best_top1=self.best_top1,
            train_time=self.train_time,
            train_images=self.train_images,
            epoch_sums=sums,
        )
        root = self.run_dir / "checkpoints"
        checkpoints.save_checkpoint(root, self.step, tensors, self._metadata(), state, info, self.cfg.keep_checkpoints)

    def _load(self, ckpt: Path) -> None:
        state, info = checkpoints.load_state(ckpt)
        if info.get("steps_per_epoch") != self.steps_per_epoch or info.get("world") != self.dist.world:
            raise ValueError(
                f"resume: {ckpt} was written with {info.get('world')} process(es) and "
                f"{info.get('steps_per_epoch')} "
                f"steps per epoch; this run has {self.dist.world} and {self.steps_per_epoch}"
            )
        self.model.load_state_dict(checkpoints.read_weights(ckpt / "model.safetensors"))
        if self.ema is not None:
            self.ema.module.load_state_dict(checkpoints.read_weights(ckpt / "ema.safetensors"))
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        if self.scaler is not None:
            self.scaler.load_state_dict(state["scaler"])
        rng = state["rng"][self.dist.rank]
        torch.set_rng_state(rng["torch"])
        random.setstate(rng["python"])
        if "cuda" in rng and self.device.type == "cuda":
            torch.cuda.set_rng_state(rng["cuda"], self.device)
        self.step, self.history, self.best_top1 = info["step"], info["history"], info["best_top1"]
        self.train_time, self.train_images = info["train_time"], info["train_images"]
        self.epoch_sums = info["epoch_sums"] if self.dist.is_main else [0.0, 0.0, 0.0]
        self._print(f"resumed from {ckpt} at step {self.step}")

    # ---- the end -------------------------------------------------------------------------------------------
    def finish(self) -> dict[str, Any]:
        final = self.history[-1] if self.history else {}
        summary = dict(
            model=self.cfg.model,
            data=self.data.name,
            epochs=self.cfg.epochs,
            steps=self.step,
            final_top1=final.get("test_top1"),
            final_top5=final.get("test_top5"),
            final_loss=final.get("test_loss"),
            final_ema_top1=final.get("ema_top1"),
            best_top1=self.best_top1,
            train_time_s=self.train_time,
            images_per_s=self.train_images / max(self.train_time, 1e-9),
            params=sum(p.numel() for p in self.model.parameters()),
            world=self.dist.world,
            device=str(self.device),
            num_test=self.data.num_test,
        )
        if self.dist.is_main:
            meta = self._metadata()
            out = self.run_dir
            write = lambda name, sd: checkpoints.write_file_atomically(
                out / name, lambda tmp: checkpoints.save_tensors(tmp, sd, meta)
            )
            write("model.safetensors", self.model.state_dict())
            if self.ema is not None:
                write("ema.safetensors", self.ema.module.state_dict())
            report.write_summary(out / "summary.json", summary)
            if self.history:
                report.plot_curves(out / "curves.png", self.history)
        return summary


__all__ = ["DataInfo", "NonFiniteLoss", "Trainer"]
