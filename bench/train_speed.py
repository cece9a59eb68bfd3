"""Training-step throughput of tokenmix's small-image models against timm's implementation of the same
architecture: same weights (copied through tokenmix.convert.to_timm and checked on logits), same batch, timed
interleaved in one process so machine load hits all variants alike.

    PYTHONPATH=src python bench/train_speed.py [--batch 128] [--steps 2] [--rounds 5] [--threads 2]
        [--csv bench/train_speed.csv] [--markdown bench/train_speed.md]

A step is forward, cross-entropy, backward, AdamW step and zero_grad on a fixed random batch (data loading is not
timed). Three variants per model:
- timm default: timm's model as a user gets it: eager, fp32, NCHW, torch.optim.AdamW with its defaults;
- timm switched: timm's model with our switches: bf16 autocast and our memory format for the model;
- ours: tokenmix's model as `tokenmix train` runs it with those switches: bf16 autocast, the memory format,
  fused AdamW (train/trainer.py `_build_optimizer`), and its parts' own kernels (layers/depthwise.py).
The memory format is the model entry's training rule on CPU (tokenmix.memory_format, `channels_last="auto"`):
channels_last for the ConvMixer and PoolFormer CIFAR models, NCHW for the others.

The ratios are computed within each round (median [min-max] over rounds). "ceiling" is the share of the CPU's
matmul peak that the step's FLOPs (3x the forward's, FlopCounterMode) reach: --peak-fp32 / --peak-bf16 GFLOP/s.
"""

from __future__ import annotations

import argparse
import copy
import csv
import statistics
import time
from functools import partial

import torch
from timm.layers import GroupNorm1
from timm.models.convmixer import ConvMixer
from timm.models.metaformer import MetaFormer
from timm.models.mlp_mixer import Affine, GatedMlp, MlpMixer, ResBlock, SpatialGatingBlock
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import tokenmix
from tokenmix.convert.timm import to_timm
from tokenmix.factory import MODELS
from tokenmix.train.runtime import memory_format


def timm_poolformer_s12_cifar() -> nn.Module:
    model = MetaFormer(
        depths=[2, 2, 6, 2],
        dims=[64, 128, 320, 512],
        downsample_norm=None,
        mlp_act=nn.GELU,
        mlp_bias=True,
        norm_layers=GroupNorm1,
        layer_scale_init_values=1e-5,
        res_scale_init_values=None,
        use_mlp_head=False,
        num_classes=10,
    )
    model.stem.conv = nn.Conv2d(3, 64, 3, stride=2, padding=1)  # our 32×32 stem; timm's is 7×7 stride 4
    return model


mixer32 = partial(MlpMixer, num_classes=10, img_size=32, patch_size=4)
TIMM_TWINS = {
    "convmixer_256_8_cifar": lambda: ConvMixer(256, 8, kernel_size=5, patch_size=2, num_classes=10),
    "convmixer_256_8_p4_cifar": lambda: ConvMixer(256, 8, kernel_size=5, patch_size=4, num_classes=10),
    "mixer_s4_cifar": lambda: mixer32(num_blocks=8, embed_dim=256, mlp_ratio=(0.5, 4.0)),
    "resmlp_12_cifar": lambda: mixer32(
        num_blocks=12,
        embed_dim=256,
        mlp_ratio=4,
        block_layer=partial(ResBlock, init_values=0.1),
        norm_layer=Affine,
    ),
    "gmlp_ti4_cifar": lambda: mixer32(
        num_blocks=12, embed_dim=128, mlp_ratio=6, block_layer=SpatialGatingBlock, mlp_layer=GatedMlp
    ),
    "poolformer_s12_cifar": timm_poolformer_s12_cifar,
}


def twins(name: str) -> tuple[nn.Module, nn.Module]:
    ours = tokenmix.create_model(name)
    theirs = TIMM_TWINS[name]()
    theirs.load_state_dict(to_timm(ours.state_dict(), MODELS.get(name).keymap))
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        diff = (ours.eval()(x) - theirs.eval()(x)).abs().max().item()
    assert diff < 1e-4, f"{name}: logits differ from timm's by {diff}"
    return ours.train(), theirs.train()


def forward_gflop(model: nn.Module) -> float:
    """Forward GFLOP per image (matmuls and convolutions)."""
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.randn(1, 3, 32, 32))
    return counter.get_total_flops() / 1e9


def step_fn(model: nn.Module, bf16: bool, fmt: torch.memory_format, fused: bool):
    model = model.to(memory_format=fmt)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, fused=fused or None)
    loss_fn = nn.CrossEntropyLoss()

    def step(x: torch.Tensor, y: torch.Tensor) -> None:
        x = x.to(memory_format=fmt)
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    return step


def images_per_s(step, x, y, steps: int) -> float:
    t0 = time.perf_counter()
    for _ in range(steps):
        step(x, y)
    return steps * len(x) / (time.perf_counter() - t0)


def bench(name: str, batch: int, steps: int, rounds: int) -> dict[str, list[float]]:
    ours, theirs = twins(name)
    fmt = memory_format("auto", ours, torch.device("cpu"))  # the model entry's measured rule, as train uses it
    x, y = torch.randn(batch, 3, 32, 32), torch.randint(0, 10, (batch,))
    runs = {
        "timm_default": step_fn(theirs, bf16=False, fmt=torch.contiguous_format, fused=False),
        "timm_switched": step_fn(copy.deepcopy(theirs), bf16=True, fmt=fmt, fused=False),
        "ours": step_fn(ours, bf16=True, fmt=fmt, fused=True),
    }
    for step in runs.values():  # warm-up: allocator, oneDNN primitive caches
        step(x, y)
    rates = {k: [] for k in runs}
    for _ in range(rounds):  # interleaved: a burst of load slows all three
        for key, step in runs.items():
            rates[key].append(images_per_s(step, x, y, steps))
    return rates


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} [{min(values):.2f}-{max(values):.2f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--peak-fp32", type=float, default=195.0, help="matmul GFLOP/s of this CPU, fp32")
    parser.add_argument("--peak-bf16", type=float, default=410.0, help="matmul GFLOP/s of this CPU, bf16")
    parser.add_argument("--models", nargs="*", default=list(TIMM_TWINS))
    parser.add_argument("--csv", help="write the per-round rates here")
    parser.add_argument("--markdown", help="write the table here")
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    title = (
        f"Training step (fwd + bwd + AdamW), batch {args.batch}, 32×32, {args.threads} thread(s), "
        f"{args.rounds} rounds × {args.steps} steps per variant, interleaved; torch {torch.__version__}"
    )
    header = (
        "| model | timm default img/s | timm switched img/s | ours img/s | ours / timm default "
        "| ours / timm switched | ceiling (timm default / ours) |"
    )
    lines = [title, "", header, "|" + "---|" * 7]
    print("\n".join(lines), flush=True)
    rows = []
    for name in args.models:
        rates = bench(name, args.batch, args.steps, args.rounds)
        train_gflop = 3 * forward_gflop(tokenmix.create_model(name))
        med = {k: statistics.median(v) for k, v in rates.items()}
        vs_default = [o / t for o, t in zip(rates["ours"], rates["timm_default"], strict=True)]
        vs_switched = [o / t for o, t in zip(rates["ours"], rates["timm_switched"], strict=True)]
        ceiling = (
            f"{100 * train_gflop * med['timm_default'] / args.peak_fp32:.0f} % / "
            f"{100 * train_gflop * med['ours'] / args.peak_bf16:.0f} %"
        )
        line = (
            f"| {name} | {med['timm_default']:.1f} | {med['timm_switched']:.1f} | {med['ours']:.1f} "
            f"| {spread(vs_default)} | {spread(vs_switched)} | {ceiling} |"
        )
        lines.append(line)
        print(line, flush=True)
        rows += [
            dict(model=name, round=r, variant=k, images_per_s=round(v[r], 2), train_gflop_per_image=train_gflop)
            for k, v in rates.items()
            for r in range(args.rounds)
        ]
        write(args, rows, lines)  # after every model: a long run keeps what it measured


def write(args: argparse.Namespace, rows: list[dict], lines: list[str]) -> None:
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
