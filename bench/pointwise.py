"""A 1x1 convolution's forward + backward three ways: NCHW conv, channels_last conv, and tokenmix's PointwiseConv
(a GEMM on the channels_last map), at the shapes of PoolFormer-S12's MLP on 32x32 CIFAR images (4x4 patches on
the 16x16 stem output, then 8x8, 4x4, 2x2) and of ConvMixer-256/8 with patch 4 (8x8, width 256).

    PYTHONPATH=src python bench/pointwise.py [--batch 64] [--dtype bf16] [--threads 1] [--rounds 5]

Prints one markdown row per shape: milliseconds (median over interleaved rounds) and the NCHW conv's and ours'
time over the channels_last conv's (median of same-round ratios; below 1 is faster).
"""

from __future__ import annotations

import argparse

import torch
import torch.nn.functional as F

from tokenmix.bench.timing import interleaved, median, speedup
from tokenmix.layers.pointwise import PointwiseConv
from tokenmix.train.runtime import amp_dtype, autocast

SHAPES = [  # (C_in, C_out, H): PoolFormer-S12's fc1 per CIFAR stage, ConvMixer-256/8-p4's pointwise conv
    (64, 256, 16),
    (128, 512, 8),
    (320, 1280, 4),
    (512, 2048, 2),
    (256, 256, 8),
]


def step_fn(conv: torch.nn.Module, x: torch.Tensor, dtype: torch.dtype | None):
    x = x.clone().requires_grad_()

    def step() -> None:
        with autocast("cpu", dtype):
            y = conv(x)
        y.float().sum().backward()

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--dtype", default="bf16", choices=["fp32", "bf16"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    dtype = amp_dtype(args.dtype, torch.device("cpu"))
    print(f"batch {args.batch}, {args.dtype}, {args.threads} thread(s), {args.rounds} rounds; forward + backward")
    print("| C_in → C_out, H×W | conv NCHW ms | conv channels_last ms | PointwiseConv ms | NCHW / CL conv "
          "| ours / CL conv |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for c_in, c_out, h in SHAPES:
        gen = torch.Generator().manual_seed(0)
        conv = PointwiseConv(c_in, c_out)
        x = torch.randn(args.batch, c_in, h, h, generator=gen)
        cl = x.contiguous(memory_format=torch.channels_last)
        conv_cl = torch.nn.Conv2d(c_in, c_out, 1).to(memory_format=torch.channels_last)
        conv_cl.load_state_dict(conv.state_dict())
        nchw = torch.nn.Conv2d(c_in, c_out, 1)
        nchw.load_state_dict(conv.state_dict())
        steps = {"nchw": step_fn(nchw, x, dtype), "cl": step_fn(conv_cl, cl, dtype), "ours": step_fn(conv, cl, dtype)}
        assert torch.allclose(F.conv2d(cl, conv.weight, conv.bias), conv(cl), atol=1e-4)
        times = interleaved(steps, rounds=args.rounds, warmup=1)
        ms = {k: 1e3 * median(v) for k, v in times.items()}
        nchw_ratio = speedup(times["nchw"], times["cl"])[0]  # same-round time ratios, median
        ours_ratio = speedup(times["ours"], times["cl"])[0]
        print(f"| {c_in} → {c_out}, {h}×{h} | {ms['nchw']:.1f} | {ms['cl']:.1f} | {ms['ours']:.1f} "
              f"| {nchw_ratio:.2f} | {ours_ratio:.2f} |", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
