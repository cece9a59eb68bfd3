"""A 1x1 convolution's forward + backward three ways: NCHW conv, channels_last conv, and tokenmix's PointwiseConv
(a GEMM on the channels_last map), at the shapes of PoolFormer-S12's MLP on 32x32 CIFAR images (4x4 patches on
the 16x16 stem output, then 8x8, 4x4, 2x2) and of ConvMixer-256/8 with patch 4 (8x8, width 256).

    PYTHONPATH=src python bench/pointwise.py [--batch 64] [--dtype bf16] [--threads 1] [--rounds 5]
        [--step poolformer_s12_cifar]

Prints one markdown row per shape: milliseconds (median over interleaved rounds) and the NCHW conv's and ours'
time over the channels_last conv's (median of same-round ratios; below 1 is faster). With --step MODEL, the
model's whole training step instead (train_step_fn: forward, cross-entropy, backward, AdamW), three ways: NCHW,
channels_last with torch's 1x1 convolutions put back, and channels_last as tokenmix builds it.
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


def with_torch_convs(model: torch.nn.Module) -> torch.nn.Module:
    """The model with every PointwiseConv replaced by the nn.Conv2d it extends (same weights)."""
    for name, child in model.named_children():
        if isinstance(child, PointwiseConv):
            conv = torch.nn.Conv2d(child.in_channels, child.out_channels, 1, bias=child.bias is not None)
            conv.load_state_dict(child.state_dict())
            setattr(model, name, conv)
        else:
            with_torch_convs(child)
    return model


def whole_step(name: str, batch: int, dtype: str, rounds: int) -> None:
    import copy

    from tokenmix.bench.measure import train_step_fn
    from tokenmix.bench.twin import randomize_weights_
    from tokenmix.factory import create_model

    cl = torch.channels_last
    base = randomize_weights_(create_model(name))
    x = torch.randn(batch, base.in_chans, base.img_size, base.img_size, generator=torch.Generator().manual_seed(0))
    models = {
        "NCHW": copy.deepcopy(base),
        "channels_last, torch 1x1 conv": with_torch_convs(copy.deepcopy(base)).to(memory_format=cl),
        "channels_last, PointwiseConv": copy.deepcopy(base).to(memory_format=cl),
    }
    steps = {
        k: train_step_fn(m, x if k == "NCHW" else x.contiguous(memory_format=cl), dtype, "cpu", base.num_classes)
        for k, m in models.items()
    }
    times = interleaved(steps, rounds=rounds, warmup=1)
    print("| variant | img/s | × NCHW, median [min-max] |")
    print("|---|---|---|")
    for k, v in times.items():
        ratio, low, high = speedup(times["NCHW"], v)
        print(f"| {k} | {batch / median(v):.0f} | {ratio:.2f} [{low:.2f}-{high:.2f}] |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--dtype", default="bf16", choices=["fp32", "bf16"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--step", metavar="MODEL", help="time this model's whole training step instead")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.step:
        print(f"{args.step}: training step, batch {args.batch}, {args.dtype}, {args.threads} thread(s), "
              f"{args.rounds} rounds")  # fmt: skip
        whole_step(args.step, args.batch, args.dtype, args.rounds)
        return
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
