"""Does a model's training step run faster in channels_last than in contiguous NCHW on this machine?

The evidence behind a model entry's `channels_last` declaration (tokenmix.memory_format). Both sides hold the
same weights and take the same batch; they are timed round-robin in one process and the speed-up is the median
of same-round ratios, so load from other jobs hits both alike.

    PYTHONPATH=src python bench/channels_last.py [--models convmixer_256_8_cifar poolformer_s12_cifar]
        [--batch 64 128] [--dtype fp32 bf16] [--rounds 3] [--threads 2] [--device cpu]

Prints one markdown row per (model, batch, dtype): img/s in each format and channels_last / NCHW.
"""

from __future__ import annotations

import argparse
import copy

import torch

from tokenmix.bench.measure import train_step_fn
from tokenmix.bench.timing import interleaved, median, speedup
from tokenmix.bench.twin import randomize_weights_
from tokenmix.factory import create_model


def compare(name: str, batch: int, dtype: str, rounds: int, device: str) -> str:
    nchw = randomize_weights_(create_model(name)).to(device)
    nhwc = copy.deepcopy(nchw).to(memory_format=torch.channels_last)
    size = nchw.img_size
    x = torch.randn(batch, nchw.in_chans, size, size, generator=torch.Generator().manual_seed(0)).to(device)
    steps = {
        "nchw": train_step_fn(nchw, x, dtype, device, nchw.num_classes),
        "channels_last": train_step_fn(
            nhwc, x.contiguous(memory_format=torch.channels_last), dtype, device, nhwc.num_classes
        ),
    }
    times = interleaved(steps, rounds=rounds, warmup=1)
    ratio, low, high = speedup(times["nchw"], times["channels_last"])
    speed = {k: batch / median(v) for k, v in times.items()}
    return (
        f"| {name} | {batch} | {dtype} | {speed['nchw']:.1f} | {speed['channels_last']:.1f} "
        f"| {ratio:.2f} [{low:.2f}-{high:.2f}] |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["convmixer_256_8_cifar", "poolformer_s12_cifar"])
    parser.add_argument("--batch", nargs="+", type=int, default=[64, 128])
    parser.add_argument("--dtype", nargs="+", choices=("fp32", "bf16"), default=["fp32", "bf16"])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    print(f"training step (AdamW), {torch.get_num_threads()} threads, {args.rounds} rounds, device {args.device}")
    print("| model | batch | dtype | NCHW img/s | channels_last img/s | channels_last / NCHW |")
    print("|---|---|---|---|---|---|")
    for name in args.models:
        for batch in args.batch:
            for dtype in args.dtype:
                print(compare(name, batch, dtype, args.rounds, args.device), flush=True)


if __name__ == "__main__":
    main()
