"""nanoGPT's own code on its README's CPU Shakespeare run, scored the way train-lm scores ours.

    PYTHONPATH=src python bench/lm_nanogpt_reference.py --nanogpt DIR --data ../shared/data/tinyshakespeare.txt
        [--seeds 0 1 2] [--runs runs/nanogpt-ref]

DIR is a checkout of karpathy/nanoGPT (not shipped here). Per seed this runs DIR/train.py with the README's CPU
flags (`--device=cpu --compile=False --eval_iters=20 --log_interval=1 --block_size=64 --batch_size=12
--n_layer=4 --n_head=4 --n_embd=128 --max_iters=2000 --lr_decay_iters=2000 --dropout=0.0`, one thread), then
loads its final weights into tokenmix's `transformer_lm_tiny` (checking that the logits agree) and scores them
on the whole held-out tail in non-overlapping windows, as `tokenmix train-lm` does. First, a lock-step check:
both implementations trained from nanoGPT's init on the same batches for --lockstep steps.

nanoGPT seeds torch with 1337; seed S here adds S to that (seed 0 is the README's run) by wrapping
`torch.manual_seed`, since train.py has no seed option. Its checkpoint is saved after every evaluation
(`--always_save_checkpoint=True`) so that the scored weights are the last ones, not the best estimate's.
Printed per seed: nanoGPT's own 20-batch estimate at step 2000, the lowest of its estimates (what its log shows
at best), the whole-tail loss of the final weights and the largest logit difference between the two models.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

import torch

from tokenmix.lm.config import LMTrainCfg
from tokenmix.lm.data import Split, read_text
from tokenmix.lm.models import create_lm
from tokenmix.lm.trainer import build_optimizer, lm_loss, lr_at

CPU_FLAGS = (
    "--device=cpu --compile=False --eval_iters=20 --log_interval=1 --block_size=64 --batch_size=12 --n_layer=4 "
    "--n_head=4 --n_embd=128 --max_iters=2000 --lr_decay_iters=2000 --dropout=0.0 --always_save_checkpoint=True"
).split()
CONTEXT = 64

# Runs train.py as __main__ with torch's seed shifted by argv[1]; the rest of argv is train.py's own.
SEEDED_TRAIN = """
import runpy, sys, torch
shift, seed = int(sys.argv.pop(1)), torch.manual_seed
torch.manual_seed = lambda s: seed(s + shift)
sys.argv[0] = "train.py"
runpy.run_path("train.py", run_name="__main__")
"""


def prepare(nanogpt: Path, text: Path) -> None:
    """nanoGPT's own data preparation, on our copy of the text (it downloads only when input.txt is missing)."""
    data = nanogpt / "data" / "shakespeare_char"
    shutil.copyfile(text, data / "input.txt")
    subprocess.run([sys.executable, "prepare.py"], cwd=data, check=True, stdout=subprocess.DEVNULL)


def train(nanogpt: Path, seed: int, out: Path) -> list[tuple[int, float]]:
    """Run train.py (unless a finished run is in `out`); returns its logged (step, 20-batch val estimate) pairs."""
    out.mkdir(parents=True, exist_ok=True)
    log_file = out / "train.log"
    if not (log_file.exists() and "step 2000:" in log_file.read_text()):
        env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        cmd = [sys.executable, "-c", SEEDED_TRAIN, str(seed), "config/train_shakespeare_char.py", *CPU_FLAGS]
        with open(log_file, "w") as log:
            subprocess.run([*cmd, f"--out_dir={out.resolve()}"], cwd=nanogpt, env=env, check=True, stdout=log)
    logged = re.findall(r"step (\d+): train loss [\d.]+, val loss ([\d.]+)", log_file.read_text())
    return [(int(step), float(loss)) for step, loss in logged]


def nanogpt_model(nanogpt: Path):
    """nanoGPT's model.py, imported from the checkout."""
    sys.path.insert(0, str(nanogpt))
    from model import GPT, GPTConfig

    return GPT, GPTConfig


def to_tokenmix(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """nanoGPT's state-dict keys as transformer_lm_tiny's (its lm_head is tied to wte, as our output layer)."""
    state = {k.removeprefix("_orig_mod."): v for k, v in state.items()}
    ours = {"pos_embed": state["transformer.wpe.weight"], "embed.weight": state["transformer.wte.weight"]}
    ours["norm.weight"] = state["transformer.ln_f.weight"]
    parts = dict(ln_1="norm1", ln_2="norm2", **{"attn.c_attn": "token_mixer.qkv", "attn.c_proj": "token_mixer.proj"})
    parts.update({"mlp.c_fc": "mlp.fc1", "mlp.c_proj": "mlp.fc2"})
    for key, value in state.items():
        if key.startswith("transformer.h."):
            i, rest = key.removeprefix("transformer.h.").split(".", 1)
            part = rest.removesuffix(".weight")
            ours[f"blocks.{i}.{parts[part]}.weight"] = value
    return ours


def windows(val: torch.Tensor) -> list[torch.Tensor]:
    """The tail in non-overlapping windows of CONTEXT + 1, as train-lm validates, in batches of 256."""
    starts = torch.arange(0, len(val) - CONTEXT, CONTEXT)
    return [val[chunk[:, None] + torch.arange(CONTEXT + 1)] for chunk in starts.split(256)]


@torch.no_grad()
def whole_tail_loss(logits_of, val: torch.Tensor) -> float:
    """Mean next-character loss over the tail (every window has CONTEXT scored positions)."""
    batches = windows(val)
    total = sum(lm_loss(logits_of(w[:, :-1].contiguous()), w[:, 1:])[0].item() * len(w) for w in batches)
    return total / sum(len(w) for w in batches)


@torch.no_grad()
def scored(nanogpt: Path, out: Path, val: torch.Tensor, vocab_size: int) -> tuple[float, float]:
    """nanoGPT's final weights loaded into transformer_lm_tiny: (its whole-tail loss, the largest logit difference
    from nanoGPT's own forward on the first batch of tail windows)."""
    gpt, gpt_config = nanogpt_model(nanogpt)
    ckpt = torch.load(out / "ckpt.pt", map_location="cpu", weights_only=True)
    theirs = gpt(gpt_config(**ckpt["model_args"])).eval()
    theirs.load_state_dict({k.removeprefix("_orig_mod."): v for k, v in ckpt["model"].items()})
    ours = create_lm("transformer_lm_tiny", vocab_size, CONTEXT, causal=True)
    ours.load_state_dict(to_tokenmix(ckpt["model"]))
    x = windows(val)[0][:, :-1].contiguous()
    diff = (ours.eval()(x) - theirs(x, x)[0]).abs().max().item()  # with targets, model.py returns every position
    return whole_tail_loss(ours, val), diff


def lockstep(nanogpt: Path, split: Split, vocab_size: int, steps: int) -> tuple[float, float, float]:
    """Both implementations from nanoGPT's init (seed 1337), on the same batches, each with its own optimizer
    set-up and clipping; returns the largest weight difference after `steps` steps and both whole-tail losses."""
    gpt, gpt_config = nanogpt_model(nanogpt)
    torch.manual_seed(1337)
    config = gpt_config(n_layer=4, n_head=4, n_embd=128, block_size=CONTEXT, bias=False, vocab_size=vocab_size)
    theirs = gpt(config)
    ours = create_lm("transformer_lm_tiny", vocab_size, CONTEXT, causal=True)
    ours.load_state_dict(to_tokenmix(theirs.state_dict()))
    cfg = LMTrainCfg(data="-", model="transformer_lm_tiny")
    ours_opt = build_optimizer(ours, cfg)
    theirs_opt = theirs.configure_optimizers(cfg.weight_decay, cfg.lr, (cfg.beta1, cfg.beta2), "cpu")
    for step in range(steps):
        w = split.train[torch.randint(len(split.train) - CONTEXT, (12,))[:, None] + torch.arange(CONTEXT + 1)]
        x, y = w[:, :-1].contiguous(), w[:, 1:].contiguous()
        losses = (lm_loss(ours(x), y)[0], theirs(x, y)[1])
        for model, opt, loss in zip((ours, theirs), (ours_opt, theirs_opt), losses, strict=True):
            for group in opt.param_groups:
                group["lr"] = lr_at(step, cfg)  # nanoGPT's get_lr: the same formula
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.clip_grad)
            opt.step()
            opt.zero_grad(set_to_none=True)
    theirs_state = to_tokenmix(theirs.state_dict())
    diff = max((v - theirs_state[k]).abs().max().item() for k, v in ours.state_dict().items())
    ours.eval(), theirs.eval()
    return diff, whole_tail_loss(ours, split.val), whole_tail_loss(lambda x: theirs(x, x)[0], split.val)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nanogpt", type=Path, required=True, help="a checkout of karpathy/nanoGPT")
    parser.add_argument("--data", type=Path, required=True, help="tinyshakespeare.txt")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--runs", type=Path, default=Path("runs/nanogpt-ref"))
    parser.add_argument("--lockstep", type=int, default=2000, metavar="STEPS", help="0: skip the lock-step check")
    args = parser.parse_args()
    torch.set_num_threads(1)
    text = read_text(args.data)
    vocab = {c: i for i, c in enumerate(sorted(set(text)))}  # nanoGPT's prepare.py: sorted characters
    split = Split.of([vocab[c] for c in text], 0.1, CONTEXT + 1, str(args.data))  # train-lm's split
    if args.lockstep:
        diff, ours, theirs = lockstep(args.nanogpt, split, len(vocab), args.lockstep)
        print(f"lock-step, {args.lockstep} steps from one init on the same batches: weights differ by {diff:.1e}; "
              f"whole-tail loss tokenmix {ours:.6f}, nanoGPT {theirs:.6f}", flush=True)  # fmt: skip
    prepare(args.nanogpt, args.data)
    print(f"{'seed':>4}  {'estimate at 2000':>16}  {'lowest estimate':>15}  {'whole tail':>10}  {'logit diff':>10}")
    tails = []
    for seed in args.seeds:
        out = args.runs / f"seed{seed}"
        logged = train(args.nanogpt, seed, out)
        tail, diff = scored(args.nanogpt, out, split.val, len(vocab))
        tails.append(tail)
        lowest = min(v for _, v in logged)
        print(f"{seed:>4}  {logged[-1][1]:>16.4f}  {lowest:>15.4f}  {tail:>10.4f}  {diff:>10.1e}", flush=True)
    spread = f" ± {statistics.stdev(tails):.4f}" if len(tails) > 1 else ""
    print(f"mean whole-tail loss: {statistics.mean(tails):.4f}{spread} over {len(tails)} seeds")


if __name__ == "__main__":
    main()
