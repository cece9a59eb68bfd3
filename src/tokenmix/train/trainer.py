"""The training loop: data -> model -> loss -> optimizer -> checkpoint, one optimizer step at a time.

A step is one global batch (config batch_size), split over ranks and then into grad_accum micro-batches. The
global step counter is the only position a run has: epoch = step // steps_per_epoch, and the batch and its
augmentation are functions of (seed, epoch, step). A checkpoint therefore holds weights, optimizer, scheduler,
RNG states and counters, and a resumed run repeats the uninterrupted one bit for bit (CPU, deterministic mode,
same thread count).

A non-finite loss is never stepped on, and a state with NaN/Inf anywhere is never saved: the run stops, names
the step and the newest checkpoint (all of them finite) to go back to (NonFiniteLoss, exit code 3). SIGINT and
SIGTERM stop the loop after the current step with a checkpoint (signals.Interrupted); under DDP every rank
stops after the same step.

The run's progress (step, history, timings) is one value, RunState, saved in state.json and restored whole.
"""

from __future__ import annotations

import dataclasses
import json
import os
import random
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from ..checkpoint import CheckpointError, load_state_dict_into
from ..data.batches import Shard
from ..data.pipeline import DataInfo, open_data
from ..data.seeds import derive_seed
from ..evaluate import Counts, evaluate
from ..factory import create_model
from . import checkpoints, report
from .config import TrainCfg, data_cfg
from .distributed import DistInfo, all_max, all_sum, any_rank, gather_objects, sync_batchnorm
from .runtime import amp_dtype, autocast, memory_format, seed_everything
from .signals import Interrupted, StopRequest
from .state import CheckpointInfo, RunState
from .trackers import Trackers, open_trackers

# the config fields the trackers compare runs by (TensorBoard's HPARAMS tab, W&B's config, MLflow's params)
HPARAMS = ("model", "data", "epochs", "batch_size", "opt", "lr", "weight_decay", "smoothing", "drop_path", "seed")

# Test hooks: the loss of this (1-based) optimizer step is replaced by NaN, to exercise the non-finite policy;
# the final weight file pauses this many seconds before its rename, so a test can kill the run inside it.
NAN_AT_STEP_ENV = "TOKENMIX_TEST_NAN_AT_STEP"
PAUSE_IN_FINAL_WRITE_ENV = "TOKENMIX_TEST_PAUSE_IN_FINAL_WRITE"
STALL_RANK_ENV = "TOKENMIX_TEST_STALL_RANK"  # "RANK:STEP:SECONDS": that rank sleeps before that step


class NonFiniteLoss(RuntimeError):
    """The loss or the state to be saved became NaN or Inf; no update was made on it and nothing was saved."""


class CollectiveFailure(RuntimeError):
    """Under DDP, another rank did not take part in a collective in time (frozen, deadlocked or dead)."""


def is_collective_failure(e: RuntimeError) -> bool:
    text = str(e).lower()
    return isinstance(e, torch.distributed.DistError) or any(
        w in text for w in ("timed out", "timeout", "connection closed", "connection reset", "gloo")
    )


class Trainer:
    def __init__(
        self,
        cfg: TrainCfg,
        run_dir: Path,
        info: DistInfo,
        resume: Path | None = None,
        stop: StopRequest | None = None,
    ) -> None:
        self._wall_start, self._wall_before = time.perf_counter(), 0.0  # this segment's clock, earlier segments
        self.cfg, self.run_dir, self.dist = cfg, run_dir, info
        self.device = info.device
        self.batches, self.data = open_data(data_cfg(cfg), Shard(info.rank, info.world))  # fails early on bad data
        if cfg.eval_translate >= self.data.img_size:
            size = self.data.img_size
            raise ValueError(f"eval_translate must be below the image size {size}, got {cfg.eval_translate}")
        seed_everything(cfg.seed, info.rank, cfg.deterministic, cfg.threads)
        if self.batches.local_batch % cfg.grad_accum:
            raise ValueError(
                f"the per-process batch {self.batches.local_batch} is not divisible by grad_accum {cfg.grad_accum}"
            )
        self.steps_per_epoch = self.batches.steps_per_epoch
        self.total_steps = cfg.epochs * self.steps_per_epoch
        self.model = self._build_model(init=resume is None)
        self.amp = amp_dtype(cfg.amp, self.device)
        self.scaler = torch.amp.GradScaler("cuda") if self.amp == torch.float16 else None
        self.optimizer, self.scheduler = self._build_optimizer()
        self.ema = self._build_ema()
        self.train_model = self._wrap(self.model)
        self.mixup, self.loss_fn = self._build_loss()
        self.state = RunState()  # epoch_sums: this rank's share until a checkpoint sums them over ranks
        self.stop = stop or StopRequest()  # entered by fit, or earlier by whoever started the run
        self._saved_step: int | None = None
        self.last_loss = float("nan")  # the latest optimizer step's training loss (this rank's batch)
        if resume is not None:
            self._load(resume)

    # ---- construction --------------------------------------------------------------------------------------
    def _build_model(self, init: bool) -> nn.Module:
        cfg, data = self.cfg, self.data
        model = create_model(
            cfg.model,
            checkpoint_path=cfg.init_from if init else None,  # fine-tuning; a resumed run loads its checkpoint
            num_classes=data.num_classes,
            in_chans=data.in_chans,
            img_size=data.img_size,
            drop_path_rate=cfg.drop_path,
            drop_rate=cfg.drop,
            **cfg.model_options,
        )
        model = sync_batchnorm(model, cfg.sync_bn, self.dist)
        self.memory_format = memory_format(cfg.channels_last, model, self.device)
        return model.to(self.device, memory_format=self.memory_format)

    def _build_optimizer(self):
        from timm.optim import create_optimizer_v2
        from timm.scheduler import CosineLRScheduler

        cfg = self.cfg
        # filter_bias_and_bn: 1-d tensors (norms, biases, scales) and model.no_weight_decay() get no decay
        # fused AdamW: one kernel over all parameters instead of ~10 per tensor (torch's CPU default is the
        # per-tensor loop); same update to float rounding (tests/train/test_optimizer.py)
        kwargs = {"sgd": dict(momentum=cfg.momentum, nesterov=True), "adamw": dict(fused=True)}.get(cfg.opt, {})
        optimizer = create_optimizer_v2(
            self.model, opt=cfg.opt, lr=cfg.lr, weight_decay=cfg.weight_decay, layer_decay=cfg.layer_decay, **kwargs
        )
        # at most half the run warms up, so a run no longer than its warm-up still decays the learning rate
        warmup = min(round(cfg.warmup_epochs * self.steps_per_epoch), self.total_steps // 2)
        if cfg.sched not in ("cosine", "constant"):
            return optimizer, self._timm_scheduler(optimizer, warmup)
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

    def _timm_scheduler(self, optimizer, warmup: int):
        """timm's own factory for its other schedules, stepped per optimizer update like the cosine one."""
        from timm.scheduler import create_scheduler_v2

        cfg = self.cfg
        scheduler, _ = create_scheduler_v2(
            optimizer,
            sched=cfg.sched,
            num_epochs=cfg.epochs,
            decay_epochs=cfg.decay_epochs,
            decay_rate=cfg.decay_rate,
            min_lr=cfg.min_lr,
            warmup_lr=cfg.warmup_lr,
            warmup_epochs=warmup / self.steps_per_epoch,
            step_on_epochs=False,
            updates_per_epoch=self.steps_per_epoch,
        )
        return scheduler

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
        self._inject_stall()
        self.scheduler.step_update(self.state.step)  # lr of this update
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
                f"non-finite loss at step {self.state.step + 1} (epoch {epoch + 1}, lr {lr:.3g}); "
                f"no update was made; {self._last_good()}"
            )
        self._optimizer_step()
        self.last_loss = loss_sum / len(y)  # this rank's
        self.state.step += 1
        if self.ema is not None:
            self.ema.update(self.model, self.state.step)
        sums = zip(self.state.epoch_sums, [loss_sum, correct, len(y)], strict=True)
        self.state.epoch_sums = [a + b for a, b in sums]

    def _last_good(self) -> str:
        newest = checkpoints.newest_checkpoint(self.run_dir / "checkpoints")
        return f"the last good checkpoint is {newest}" if newest else "no checkpoint was written yet"

    def _inject_stall(self) -> None:
        rank, step, seconds = (os.environ.get(STALL_RANK_ENV) or "-1:0:0").split(":")
        if int(rank) == self.dist.rank and int(step) == self.state.step + 1:
            time.sleep(float(seconds))

    def _inject_fault(self, loss: torch.Tensor) -> torch.Tensor:
        if os.environ.get(NAN_AT_STEP_ENV) == str(self.state.step + 1):
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
        try:
            return self._fit()
        except RuntimeError as e:  # torch.distributed.DistError is one
            if self.dist.enabled and is_collective_failure(e):
                raise CollectiveFailure(
                    f"rank {self.dist.rank}: the other ranks did not answer within collective_timeout="
                    f"{self.cfg.collective_timeout:g} s after step {self.state.step} (a rank is stuck or gone): "
                    f"{str(e).strip().splitlines()[0][:200]}"
                ) from None
            raise

    def _fit(self) -> dict[str, Any]:
        step = self.state.step
        names = self.cfg.trackers if self.dist.is_main else "none"  # rank 0 reports for all
        trackers = open_trackers(names, self.run_dir, resumed_at=step or None)
        try:
            with self.stop:
                for epoch in range(step // self.steps_per_epoch, self.cfg.epochs):
                    self._train_epoch(epoch, self.state.step - epoch * self.steps_per_epoch, trackers)
                    row = self._end_epoch(epoch)
                    trackers.row(row, self.state.step)
                    self.save_checkpoint()
                    self._print(report.epoch_line(row, self.cfg.epochs))
                    if self.dist.is_main:
                        report.warn_skipped(getattr(self.batches, "skipped", ()))
                    signum = self._stop_asked()
                    if signum:
                        self._interrupt(signum)
                summary = self.finish()
                trackers.hparams({k: getattr(self.cfg, k) for k in HPARAMS}, dict(top1=summary["final_top1"]))
                return summary
        finally:
            trackers.close()

    def _train_epoch(self, epoch: int, start_step: int, trackers: Trackers) -> None:
        show = self.dist.is_main and self.cfg.progress
        bar = report.Progress(epoch, self.cfg.epochs, self.steps_per_epoch, start_step, show)
        clock = time.perf_counter()
        for step_in_epoch, x, y in self.batches.train_epoch(epoch, start_step):
            self.train_step(epoch, step_in_epoch, x, y)
            trackers.step(self.state.step, self.last_loss, self.optimizer.param_groups[0]["lr"])
            self.state.train_images += len(y) * self.dist.world
            bar.update(len(y) * self.dist.world, self.state.epoch_sums)
            last = step_in_epoch == self.steps_per_epoch - 1
            every, signum = self.cfg.checkpoint_every, self._stop_asked()
            # the epoch-end checkpoint covers the last step, after evaluation
            if not last and (every and self.state.step % every == 0 or signum):
                clock = self._add_time(clock)
                self.save_checkpoint()
                if signum:
                    self._interrupt(signum)
        bar.close()
        self._add_time(clock)

    def _wall(self) -> float:
        return self._wall_before + time.perf_counter() - self._wall_start

    def _add_time(self, since: float) -> float:
        now = time.perf_counter()
        self.state.train_time += now - since
        return now

    def _stop_asked(self) -> int:
        """The signal number if any rank got SIGINT/SIGTERM, else 0; every rank gets the same answer here."""
        if not self.dist.enabled:
            return self.stop.signum
        return int(all_max([float(self.stop.signum)], self.dist)[0])

    def _interrupt(self, signum: int) -> None:
        self.save_checkpoint()  # a no-op when this step is saved already
        newest = checkpoints.newest_checkpoint(self.run_dir / "checkpoints")
        raise Interrupted(signum, self.state.step, newest, self.run_dir, self.dist.is_main)

    def evaluate(self, model: nn.Module, final: bool = False) -> Counts:
        """Test-set sums over all ranks; the shifted views of eval_translate only in the `final` evaluation (they
        triple its cost, and the per-epoch curve only needs the trend)."""
        share = -(-self.data.num_test // self.dist.world)  # this rank's images, about
        progress = report.EvalProgress(share, enabled=self.dist.is_main and self.cfg.progress)
        counts = evaluate(
            model,
            self.batches.test_batches(self.cfg.eval_batch_size),
            self.data.num_classes,
            self.device,
            autocast(self.device, self.amp),
            self.memory_format,
            hflip=self.cfg.eval_hflip,
            progress=progress,
            translate=self.cfg.eval_translate if final else 0,
        )
        progress.close()
        loss_sum, top1, top5, count = all_sum([counts.loss_sum, counts.top1, counts.top5, counts.count], self.dist)
        return Counts(loss_sum, int(top1), int(top5), int(count), counts.confusion)

    def _end_epoch(self, epoch: int) -> dict[str, Any]:
        state = self.state
        loss_sum, correct, count = all_sum(state.epoch_sums, self.dist)
        final = epoch + 1 == self.cfg.epochs
        test = self.evaluate(self.model, final)
        ema_top1 = self.evaluate(self.ema.module, final).top1_pct if self.ema is not None else None
        row = dict(
            epoch=epoch + 1,
            step=state.step,
            lr=self.optimizer.param_groups[0]["lr"],
            train_loss=loss_sum / max(count, 1),
            train_top1=100 * correct / max(count, 1),
            test_loss=test.loss,
            test_top1=test.top1_pct,
            test_top5=test.top5_pct,
            ema_top1=ema_top1,
            images_per_s=state.train_images / max(state.train_time, 1e-9),
            elapsed_s=state.train_time,
            wall_s=self._wall(),
        )
        state.history.append(row)
        state.best_top1 = max(state.best_top1 or 0.0, test.top1_pct, ema_top1 or 0.0)
        state.epoch_sums = [0.0, 0.0, 0.0]
        if self.dist.is_main:
            report.write_metrics(self.run_dir / "metrics.csv", state.history)
        return row

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
            amp={None: "none", torch.bfloat16: "bf16", torch.float16: "fp16"}[self.amp],
        )

    def _rng_state(self) -> dict[str, Any]:
        state = dict(torch=torch.get_rng_state(), python=random.getstate())
        if self.device.type == "cuda":
            state["cuda"] = torch.cuda.get_rng_state(self.device)
        return state

    def _tensors(self) -> dict[str, dict[str, torch.Tensor]]:
        tensors = {"model": self.model.state_dict()}
        if self.ema is not None:
            tensors["ema"] = self.ema.module.state_dict()
        return tensors

    def _check_finite(self, tensors: dict[str, Any]) -> None:
        """Every rank checks its own copy (BatchNorm statistics differ per rank) and all stop together."""
        bad = checkpoints.first_non_finite(tensors)
        if any_rank(bad is not None, self.dist):
            where = f"{bad} holds NaN/Inf" if bad else "another rank's state holds NaN/Inf"
            raise NonFiniteLoss(f"non-finite state at step {self.state.step}: {where}; not saved; {self._last_good()}")

    def save_checkpoint(self) -> None:
        if self._saved_step == self.state.step:
            return
        tensors = self._tensors()
        state = dict(optimizer=self.optimizer.state_dict(), scheduler=self.scheduler.state_dict())
        self._check_finite({**tensors, "optimizer": state["optimizer"]})
        state["rng"] = gather_objects(self._rng_state(), self.dist)  # every rank's generators (dropout, drop path)
        sums = all_sum(self.state.epoch_sums, self.dist)
        self._saved_step = self.state.step
        if not self.dist.is_main:
            return
        if self.scaler is not None:
            state["scaler"] = self.scaler.state_dict()
        run = dataclasses.replace(self.state, epoch_sums=sums, wall_time=self._wall())
        info = CheckpointInfo(run, self.steps_per_epoch, self.dist.world, self.cfg.to_dict())
        root = self.run_dir / "checkpoints"
        checkpoints.save_checkpoint(
            root, self.state.step, tensors, self._metadata(), state, info.to_dict(), self.cfg.keep_checkpoints
        )

    def _load(self, ckpt: Path) -> None:
        state, info = checkpoints.load_state(ckpt)
        if (info.steps_per_epoch, info.world) != (self.steps_per_epoch, self.dist.world):
            raise ValueError(
                f"resume: {ckpt} was written with {info.world} process(es) and {info.steps_per_epoch} steps per "
                f"epoch; this run has {self.dist.world} and {self.steps_per_epoch}"
            )
        run_state = info.run
        for name, module in (("model", self.model), ("ema", self.ema.module if self.ema else None)):
            if module is not None:
                path = ckpt / f"{name}.safetensors"
                load_state_dict_into(module, checkpoints.read_weights(path), f"resume: {path}")
        self._load_training_state(state, ckpt / "state.pt")
        if not self.dist.is_main:
            run_state.epoch_sums = [0.0, 0.0, 0.0]  # rank 0 carries the sums of all ranks
        self.state, self._saved_step = run_state, run_state.step
        self._wall_before = run_state.wall_time
        self._print(f"resumed from {ckpt} at step {run_state.step}")

    def _load_training_state(self, state: dict[str, Any], path: Path) -> None:
        parts = [("optimizer", self.optimizer), ("scheduler", self.scheduler)]
        if self.scaler is not None:
            parts.append(("scaler", self.scaler))
        for key, target in parts:
            if key not in state:
                raise CheckpointError(f"resume: {path} has no {key!r} entry")
            try:
                target.load_state_dict(state[key])
            except (KeyError, ValueError, TypeError, RuntimeError, IndexError) as e:
                raise CheckpointError(f"resume: {path}: the {key} state does not fit this run ({e!r:.200})") from None
        rngs = state.get("rng")
        if not isinstance(rngs, list) or len(rngs) != self.dist.world:
            raise CheckpointError(f"resume: {path}: expected the RNG states of {self.dist.world} process(es)")
        try:
            rng = rngs[self.dist.rank]
            torch.set_rng_state(rng["torch"])
            random.setstate(rng["python"])
            if "cuda" in rng and self.device.type == "cuda":
                torch.cuda.set_rng_state(rng["cuda"], self.device)
        except (KeyError, TypeError, ValueError, RuntimeError) as e:
            raise CheckpointError(f"resume: {path}: unusable RNG state ({e!r:.200})") from None

    # ---- the end -------------------------------------------------------------------------------------------
    def finish(self) -> dict[str, Any]:
        state = self.state
        final = state.history[-1] if state.history else {}
        summary = dict(
            model=self.cfg.model,
            data=self.data.name,
            epochs=self.cfg.epochs,
            steps=self.state.step,
            final_top1=final.get("test_top1"),
            final_top5=final.get("test_top5"),
            final_loss=final.get("test_loss"),
            final_ema_top1=final.get("ema_top1"),
            best_top1=state.best_top1,
            train_time_s=state.train_time,
            wall_time_s=self._wall(),
            images_per_s=state.train_images / max(state.train_time, 1e-9),
            params=sum(p.numel() for p in self.model.parameters()),
            world=self.dist.world,
            device=str(self.device),
            num_test=self.data.num_test,
        )
        if self.dist.is_main:
            for stem, sd in self._tensors().items():
                self._write_final(stem, sd)
            report.write_summary(self.run_dir / "summary.json", summary)
            if state.history:
                report.plot_curves(self.run_dir / "curves.png", state.history)
        return summary

    def _write_final(self, stem: str, sd: dict[str, torch.Tensor]) -> None:
        meta, pause = self._metadata(), float(os.environ.get(PAUSE_IN_FINAL_WRITE_ENV, 0))

        def write(tmp: Path) -> None:
            checkpoints.save_tensors(tmp, sd, meta)
            time.sleep(pause)

        checkpoints.write_file_atomically(self.run_dir / f"{stem}.safetensors", write)


__all__ = ["DataInfo", "NonFiniteLoss", "Trainer"]
