"""The language-model training loop: batch -> model -> loss -> AdamW -> checkpoint, one step at a time.

The step counter is the run's only position: the batch, its masks and the learning rate are functions of
(seed, step), so a checkpoint (weights, AdamW state, RNG state, counters) resumes bit for bit on CPU in
deterministic mode. SIGINT/SIGTERM stop the loop after the current step with a checkpoint
(tokenmix.train.signals, as image training). Checkpoints use tokenmix.train.checkpoints (atomic directories,
safetensors weights, state.pt read with weights_only=True); the tokenizer and model options travel in the
weights' metadata.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from ..train import checkpoints
from ..train.report import write_summary, write_text
from ..train.runtime import seed_everything
from ..train.signals import Interrupted, StopRequest
from ..train.trackers import open_trackers
from .config import LMTrainCfg
from .data import IGNORE, Batches, Split, read_text
from .models import SequenceModel, lm_cfg
from .report import plot_curves, write_metrics
from .tokenizers import Tokenizer, check_matches, fingerprint, from_json, to_json, train_tokenizer

LM_TAGS = {
    "train_loss": "loss/train",
    "val_loss": "loss/val",
    "val_ppl": "ppl/val",
    "lr": "opt/lr",
    "tokens_per_s": "speed/tokens_per_s",
    "elapsed_s": "time/train_s",
}
LM_HPARAMS = ("model", "objective", "tokenizer", "token_weights", "context", "steps", "batch_size", "lr", "seed")


def lr_at(step: int, cfg: LMTrainCfg) -> float:
    """nanoGPT's schedule: linear warm-up to lr, then cosine to min_lr at the last step."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / (cfg.warmup_steps + 1)
    progress = (step - cfg.warmup_steps) / max(cfg.steps - cfg.warmup_steps, 1)
    return cfg.min_lr + 0.5 * (1 + math.cos(math.pi * min(progress, 1.0))) * (cfg.lr - cfg.min_lr)


def model_options(cfg: LMTrainCfg) -> dict[str, Any]:
    return {} if cfg.token_weights is None else dict(token_weights=cfg.token_weights)


def lm_loss(logits: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Mean cross-entropy over the scored positions (all for causal LM, the chosen 15 % for masked LM)."""
    count = int((targets != IGNORE).sum())
    loss = F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=IGNORE, reduction="sum")
    return loss / max(count, 1), count


def build_optimizer(model: SequenceModel, cfg: LMTrainCfg) -> torch.optim.AdamW:
    """AdamW with weight decay on matrices and embeddings (dim >= 2) only, as nanoGPT's configure_optimizers;
    with decay_embeddings off, embeddings (the tied output layer too) get none, as in nanoGPT's first version."""
    embeddings = {id(m.weight) for m in model.modules() if isinstance(m, torch.nn.Embedding)}
    if model.pos_embed is not None:  # nanoGPT's wpe is an nn.Embedding
        embeddings.add(id(model.pos_embed))
    params = [p for p in model.parameters() if p.requires_grad]

    def decayed(p: torch.Tensor) -> bool:
        return p.dim() >= 2 and (cfg.decay_embeddings or id(p) not in embeddings)

    groups = [
        dict(params=[p for p in params if decayed(p)], weight_decay=cfg.weight_decay),
        dict(params=[p for p in params if not decayed(p)], weight_decay=0.0),
    ]
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(cfg.beta1, cfg.beta2), foreach=False)


def pick_device(setting: str) -> torch.device:
    if setting == "cuda" and not torch.cuda.is_available():
        raise ValueError("device cuda: no CUDA device is available")
    return torch.device("cuda" if setting == "cuda" or (setting == "auto" and torch.cuda.is_available()) else "cpu")


class LMTrainer:
    def __init__(self, cfg: LMTrainCfg, run_dir: Path, resume: Path | None = None) -> None:
        self.cfg, self.run_dir, self.device = cfg, run_dir, pick_device(cfg.device)
        text = read_text(Path(cfg.data))
        self.data_sha = hashlib.sha256(text.encode()).hexdigest()[:16]
        state, info = checkpoints.read_state(resume) if resume is not None else (None, None)
        self.tokenizer = self._tokenizer(text, resume, info)
        self.causal = cfg.objective == "causal"
        window = cfg.context + 1 if self.causal else cfg.context
        split = Split.of(self.tokenizer.encode(text), cfg.val_fraction, window, f"data {cfg.data}")
        self.split_info = dict(tokens=len(split.train) + len(split.val), train=len(split.train), val=len(split.val))
        self.batches = Batches(split, self.tokenizer, cfg.context, self.causal, cfg.seed, cfg.mask_rate)
        model_cfg = lm_cfg(cfg.model, len(self.tokenizer.vocab), cfg.context, self.causal, **model_options(cfg))
        seed_everything(cfg.seed, 0, cfg.deterministic, cfg.threads)  # only once the config is known to be good
        self.model = SequenceModel(model_cfg).to(self.device)
        self.optimizer = build_optimizer(self.model, cfg)
        self.step, self.history, self.train_time, self.tokens_seen = 0, [], 0.0, 0
        self.loss_sum, self.loss_steps = 0.0, 0  # training loss since the last validation
        if resume is not None:
            self._load(resume, state, info)
        self._write_run_files()

    def _write_run_files(self) -> None:
        """config.json, tokenizer.json and split.json (the fixed train/validation split, in tokens)."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        write_text(self.run_dir / "config.json", self.cfg.to_json() + "\n")
        write_text(self.run_dir / "tokenizer.json", to_json(self.tokenizer) + "\n")
        split = dict(self.split_info, val_fraction=self.cfg.val_fraction, data=self.cfg.data, sha256=self.data_sha)
        write_text(self.run_dir / "split.json", json.dumps(split, indent=1) + "\n")

    def _tokenizer(self, text: str, resume: Path | None, info: dict[str, Any] | None) -> Tokenizer:
        if resume is None:
            return train_tokenizer(self.cfg.tokenizer, text, self.cfg.bpe_vocab_size)
        if info.get("data_sha256") != self.data_sha:
            raise ValueError(f"resume: {self.cfg.data} is not the text {resume} was trained on (its sha256 differs)")
        tokenizer = from_json(info["tokenizer"], f"the tokenizer in {resume}")
        saved = self.run_dir / "tokenizer.json"
        if saved.is_file():  # the run folder's copy must still be the one the checkpoint used
            check_matches(from_json(saved.read_text(), str(saved)), fingerprint(tokenizer), str(saved), str(resume))
        return tokenizer

    # ---- one step ------------------------------------------------------------------------------------------
    def train_step(self) -> float:
        lr = lr_at(self.step, self.cfg)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        inputs, targets = self.batches.train_batch(self.step, self.cfg.batch_size)
        inputs, targets = inputs.to(self.device), targets.to(self.device)
        loss, _ = lm_loss(self.model(inputs), targets)
        if not torch.isfinite(loss):
            raise FloatingPointError(f"non-finite loss at step {self.step + 1} (lr {lr:.3g}); no update was made")
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if self.cfg.clip_grad is not None:
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.clip_grad)
        self.optimizer.step()
        self.step += 1
        self.tokens_seen += inputs.numel()
        return loss.item()

    @torch.no_grad()
    def validate(self) -> float:
        """Mean loss per scored token over the whole held-out tail."""
        self.model.eval()
        total, count = 0.0, 0
        for inputs, targets in self.batches.val_batches(self.cfg.eval_batch_size):
            loss, n = lm_loss(self.model(inputs.to(self.device)), targets.to(self.device))
            total, count = total + loss.item() * n, count + n
        self.model.train()
        return total / max(count, 1)

    # ---- the loop ------------------------------------------------------------------------------------------
    def fit(self) -> dict[str, Any]:
        """Train to cfg.steps; raises signals.Interrupted after writing a checkpoint on SIGINT/SIGTERM."""
        with StopRequest("train-lm") as stop:
            return self._fit(stop)

    def _fit(self, stop: StopRequest) -> dict[str, Any]:
        cfg = self.cfg
        trackers = open_trackers(cfg.trackers, self.run_dir, resumed_at=self.step or None, tags=LM_TAGS)
        t0, tokens0 = time.perf_counter(), self.tokens_seen
        while self.step < cfg.steps:
            loss = self.train_step()
            trackers.step(self.step, loss, lr_at(self.step - 1, cfg))
            self.loss_sum += loss
            self.loss_steps += 1
            last = self.step == cfg.steps
            if self.step % cfg.log_every == 0 or last:
                rate = (self.tokens_seen - tokens0) / max(time.perf_counter() - t0, 1e-9)
                print(f"step {self.step:>6}/{cfg.steps}  loss {self.loss_sum / self.loss_steps:.4f}  "
                      f"lr {lr_at(self.step - 1, cfg):.2e}  {rate:,.0f} tok/s", flush=True)  # fmt: skip
            evaluate = self.step % cfg.eval_every == 0 or last
            save = (cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0) or last or stop.signum
            if evaluate or save:  # the clock counts training only
                self.train_time += time.perf_counter() - t0
                if evaluate:
                    trackers.row(self._evaluate(), self.step)
                if save:
                    self.save_checkpoint()
                if stop.signum and not last:
                    trackers.close()
                    newest = checkpoints.newest_checkpoint(self.run_dir / "checkpoints")
                    raise Interrupted(stop.signum, self.step, newest, self.run_dir, True, "train-lm")
                t0, tokens0 = time.perf_counter(), self.tokens_seen
        summary = self.finish()
        trackers.hparams({k: getattr(cfg, k) for k in LM_HPARAMS}, dict(val_loss=summary["final_val_loss"]))
        trackers.close()
        return summary

    def _evaluate(self) -> dict[str, Any]:
        val = self.validate()
        row = dict(
            step=self.step,
            lr=lr_at(self.step - 1, self.cfg),
            train_loss=self.loss_sum / max(self.loss_steps, 1),
            val_loss=val,
            val_ppl=math.exp(min(val, 50.0)),
            tokens_per_s=self.tokens_seen / max(self.train_time, 1e-9),
            elapsed_s=self.train_time,
        )
        self.history.append(row)
        self.loss_sum, self.loss_steps = 0.0, 0
        write_metrics(self.run_dir / "metrics.csv", self.history)
        print(f"step {self.step:>6}/{self.cfg.steps}  val loss {val:.4f}  ppl {row['val_ppl']:.2f}", flush=True)
        return row

    # ---- checkpoints ---------------------------------------------------------------------------------------
    def metadata(self) -> dict[str, str]:
        """What a weights file needs to be used alone: the model, its options and its tokenizer."""
        return dict(
            format="pt",
            architecture=self.cfg.model,
            objective=self.cfg.objective,
            options=json.dumps(dict(context=self.cfg.context, **model_options(self.cfg))),
            tokenizer=to_json(self.tokenizer),
            tokenizer_fingerprint=fingerprint(self.tokenizer),
        )

    def save_checkpoint(self) -> None:
        state = dict(optimizer=self.optimizer.state_dict(), rng=dict(torch=torch.get_rng_state()))
        info = dict(
            step=self.step,
            config=self.cfg.to_dict(),
            history=self.history,
            train_time=self.train_time,
            tokens_seen=self.tokens_seen,
            loss_sum=self.loss_sum,
            loss_steps=self.loss_steps,
            data_sha256=self.data_sha,
            split=self.split_info,
            tokenizer=to_json(self.tokenizer),
        )
        tensors = {"model": self.model.state_dict()}
        root = self.run_dir / "checkpoints"
        checkpoints.save_checkpoint(root, self.step, tensors, self.metadata(), state, info, self.cfg.keep_checkpoints)

    def _load(self, ckpt: Path, state: dict[str, Any], info: dict[str, Any]) -> None:
        self.model.load_state_dict(checkpoints.read_weights(ckpt / "model.safetensors"))
        self.optimizer.load_state_dict(state["optimizer"])
        torch.set_rng_state(state["rng"]["torch"])
        self.step, self.history, self.train_time = info["step"], info["history"], info["train_time"]
        self.tokens_seen, self.loss_sum, self.loss_steps = info["tokens_seen"], info["loss_sum"], info["loss_steps"]
        print(f"resumed from {ckpt} at step {self.step}", flush=True)

    def finish(self) -> dict[str, Any]:
        final = self.history[-1]
        summary = dict(
            model=self.cfg.model,
            objective=self.cfg.objective,
            data=self.cfg.data,
            data_sha256=self.data_sha,
            split=dict(self.split_info, val_fraction=self.cfg.val_fraction),
            tokenizer=dict(
                kind=self.tokenizer.kind, vocab=len(self.tokenizer.vocab), fingerprint=fingerprint(self.tokenizer)
            ),
            params=self.model.num_params(),
            steps=self.step,
            final_val_loss=final["val_loss"],
            final_val_ppl=final["val_ppl"],
            best_val_loss=min(r["val_loss"] for r in self.history),
            train_time_s=self.train_time,
            tokens_per_s=self.tokens_seen / max(self.train_time, 1e-9),
            device=str(self.device),
        )
        meta, out = self.metadata(), self.run_dir
        checkpoints.write_file_atomically(
            out / "model.safetensors", lambda tmp: checkpoints.save_tensors(tmp, self.model.state_dict(), meta)
        )
        write_summary(out / "summary.json", summary)
        plot_curves(out / "curves.png", self.history, f"{self.cfg.model} ({self.cfg.objective})")
        return summary
