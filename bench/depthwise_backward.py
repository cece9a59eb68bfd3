"""The backward of a depthwise convolution on CPU, PyTorch's kernels against exact reformulations, one ConvMixer
layer (5x5 depthwise, 256 channels, batch 128) at 8x8 tokens (patch 4) and 16x16 (patch 2).

    PYTHONPATH=src python bench/depthwise_backward.py [--threads 1] [--repeats 3]

- input grad: torch's conv2d_input vs a forward depthwise conv of the output grad with the kernel flipped
  (stride 1, 'same' padding: the transposed convolution is that correlation);
- weight grad: torch's conv2d_weight in bf16 channels_last (what autocast runs) vs the same call in fp32
  channels_last.
Each reformulation is first checked against torch's in float64. Prints ms per call (median of --repeats).
"""

from __future__ import annotations

import argparse
import statistics
import time
from functools import partial

import torch
import torch.nn.functional as F
from torch.nn.grad import conv2d_input, conv2d_weight


def input_grad_as_forward(g: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    return F.conv2d(g, w.flip(-1, -2), padding=w.shape[-1] // 2, groups=w.shape[0])


def weight_grad(x: torch.Tensor, g: torch.Tensor, k: int) -> torch.Tensor:
    return conv2d_weight(x, (x.shape[1], 1, k, k), g, padding=k // 2, groups=x.shape[1])


def ms(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1000 * statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    g64, w64 = torch.randn(4, 8, 6, 6, dtype=torch.float64), torch.randn(8, 1, 5, 5, dtype=torch.float64)
    ref = conv2d_input(g64.shape, w64, g64, padding=2, groups=8)
    print(f"float64 check, input grad as forward: max |diff| {(input_grad_as_forward(g64, w64) - ref).abs().max():.1e}")
    cl = torch.channels_last
    print("| tokens | torch input grad (bf16) | as forward (bf16) | torch weight grad (bf16) | same in fp32 |")
    print("|---|---|---|---|---|")
    for h in (8, 16):
        x = torch.randn(128, 256, h, h).to(memory_format=cl)
        g = torch.randn(128, 256, h, h).to(memory_format=cl)
        w = torch.randn(256, 1, 5, 5)
        xb, gb, wb = x.bfloat16(), g.bfloat16(), w.bfloat16()
        calls = [
            partial(conv2d_input, xb.shape, wb, gb, padding=2, groups=256),
            partial(input_grad_as_forward, gb, wb),
            partial(weight_grad, xb, gb, 5),
            partial(weight_grad, x, g, 5),
        ]
        row = [ms(call, args.repeats) for call in calls]
        print(f"| {h}x{h} | " + " | ".join(f"{v:.1f} ms" for v in row) + " |", flush=True)


if __name__ == "__main__":
    main()
