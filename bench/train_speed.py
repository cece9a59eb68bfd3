"""Training-step throughput of tokenmix's small-image models against timm's implementation of the same
architecture: same weights (copied through tokenmix.convert.to_timm and checked on logits), same batch, same
AdamW step, timed interleaved in one process so machine load hits both alike.

    PYTHONPATH=src python bench/train_speed.py [--batch 32] [--steps 3] [--rounds 3] [--threads 1]

Prints images/s (median over rounds) in fp32 and under bf16 autocast, and ours/timm.
"""

from __future__ import annotations

import argparse
import statistics
import time
from functools import partial

import torch
from timm.layers import GroupNorm1
from timm.models.convmixer import ConvMixer
from timm.models.metaformer import MetaFormer
from timm.models.mlp_mixer import Affine, GatedMlp, MlpMixer, ResBlock, SpatialGatingBlock
from torch import nn

import tokenmix
from tokenmix.convert.timm import to_timm
from tokenmix.factory import MODELS


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


def step_fn(model: nn.Module, dtype: torch.dtype | None):
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    loss_fn = nn.CrossEntropyLoss()

    def step(x: torch.Tensor, y: torch.Tensor) -> None:
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cpu", dtype=dtype, enabled=dtype is not None):
            loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()

    return step


def images_per_s(step, x, y, steps: int) -> float:
    t0 = time.perf_counter()
    for _ in range(steps):
        step(x, y)
    return steps * len(x) / (time.perf_counter() - t0)


def bench(name: str, dtype: torch.dtype | None, batch: int, steps: int, rounds: int) -> tuple[float, float]:
    ours, theirs = twins(name)
    x, y = torch.randn(batch, 3, 32, 32), torch.randint(0, 10, (batch,))
    runs = {"ours": step_fn(ours, dtype), "timm": step_fn(theirs, dtype)}
    for step in runs.values():  # warm-up: allocator, oneDNN primitive caches
        step(x, y)
    rates = {k: [] for k in runs}
    for _ in range(rounds):  # interleaved: a burst of load slows both
        for key, step in runs.items():
            rates[key].append(images_per_s(step, x, y, steps))
    return statistics.median(rates["ours"]), statistics.median(rates["timm"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--models", nargs="*", default=list(TIMM_TWINS))
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    print(
        f"training step (fwd + bwd + AdamW), batch {args.batch}, 32×32, {args.threads} thread(s), "
        f"median of {args.rounds} rounds × {args.steps} steps; torch {torch.__version__}"
    )
    header = f"{'model':24s} {'precision':9s} {'ours img/s':>11s} {'timm img/s':>11s} {'ours/timm':>10s}"
    print(header)
    print("-" * len(header))
    for name in args.models:
        for label, dtype in (("fp32", None), ("bf16", torch.bfloat16)):
            ours, theirs = bench(name, dtype, args.batch, args.steps, args.rounds)
            print(f"{name:24s} {label:9s} {ours:11.1f} {theirs:11.1f} {ours / theirs:10.2f}", flush=True)


if __name__ == "__main__":
    main()
