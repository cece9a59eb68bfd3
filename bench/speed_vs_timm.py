"""tokenmix vs timm, same weights, same process, interleaved: the speed table of issue #5.

For each model, one round runs every variant once -- timm eager fp32 (the reference), tokenmix deployed fp32,
tokenmix deployed bf16 autocast -- and a ratio is the median over rounds of (timm time / tokenmix time) taken
within each round. Training: one AdamW step of each model at 32x32 (conv models channels_last on our side).

    PYTHONPATH=src python bench/speed_vs_timm.py [--rounds 5] [--batch 16] [--allocator tcmalloc]

Prints a markdown table and writes bench/speed_vs_timm.csv. Evidence and machine: see README.md, "Speed".
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

import torch

from tokenmix.bench import allocator
from tokenmix.bench.agreement import top1_agreement
from tokenmix.bench.measure import Settings, build_pair, fast_form, inference_fn, train_step_fn
from tokenmix.bench.report import markdown, write_csv
from tokenmix.bench.timing import interleaved, median, speedup

# model: (fp32 target, bf16 target, train target) -- ratios over timm eager fp32, batch 16, 224, 2 threads
TARGETS = {
    "mixer_s16_224": (1.3, 2.5, 1.3),
    "resmlp_12_224": (1.5, 2.5, 1.3),
    "gmlp_s16_224": (1.3, 2.0, 1.3),
    "poolformer_s12": (1.5, 2.5, 1.3),
    "convmixer_768_32": (3.0, 4.0, 3.0),
}
COLUMNS = [
    ("model", "model"),
    ("timm_img_s", "timm fp32 img/s"),
    ("ours_fp32_img_s", "ours fp32 img/s"),
    ("ours_bf16_img_s", "ours bf16 img/s"),
    ("ratio_fp32", "× fp32 (target)"),
    ("ratio_bf16", "× bf16 (target)"),
    ("bf16_top1_agree", "bf16 top-1 = fp32"),
    ("train_timm_img_s", "timm train img/s"),
    ("train_ours_img_s", "ours train img/s"),
    ("ratio_train", "× train 32px (target)"),
]


def fmt_ratio(r: tuple[float, float, float], target: float) -> str:
    mark = "✔" if r[0] >= target else "✘"
    return f"{r[0]:.2f} [{r[1]:.2f}–{r[2]:.2f}] ({target}) {mark}"


def compare(name: str, args: argparse.Namespace) -> dict:
    t_fp32, t_bf16, t_train = TARGETS[name]
    settings = Settings(batch=args.batch, vs_timm=True)
    model, twin = build_pair(name, settings)
    ours = fast_form(model, settings, training=False)
    x = torch.randn(args.batch, 3, model.img_size, model.img_size, generator=torch.Generator().manual_seed(0))
    fns = {
        "timm": inference_fn(twin, x, "fp32", "cpu"),
        "fp32": inference_fn(ours, x, "fp32", "cpu"),
        "bf16": inference_fn(ours, x, "bf16", "cpu"),
    }
    times = interleaved(fns, args.rounds, warmup=1)
    agree = top1_agreement(twin, ours, x, "bf16")
    row = dict(
        model=name,
        timm_img_s=round(args.batch / median(times["timm"]), 2),
        ours_fp32_img_s=round(args.batch / median(times["fp32"]), 2),
        ours_bf16_img_s=round(args.batch / median(times["bf16"]), 2),
        ratio_fp32=fmt_ratio(speedup(times["timm"], times["fp32"]), t_fp32),
        ratio_bf16=fmt_ratio(speedup(times["timm"], times["bf16"]), t_bf16),
        bf16_top1_agree=round(agree, 3),
    )
    row.update(compare_training(name, args, t_train))
    return row


def compare_training(name: str, args: argparse.Namespace, target: float) -> dict:
    settings = Settings(batch=args.train_batch, img_size=32, vs_timm=True)
    model, twin = build_pair(name, settings)
    x = torch.randn(args.train_batch, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    steps = {
        "timm": train_step_fn(twin, x, "fp32", "cpu", model.num_classes),
        "ours": train_step_fn(fast_form(model, settings, training=True), x, "fp32", "cpu", model.num_classes),
    }
    times = interleaved(steps, args.rounds, warmup=1)
    return dict(
        train_timm_img_s=round(args.train_batch / median(times["timm"]), 1),
        train_ours_img_s=round(args.train_batch / median(times["ours"]), 1),
        ratio_train=fmt_ratio(speedup(times["timm"], times["ours"]), target),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(TARGETS))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--train-batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--allocator", choices=("keep", "tcmalloc"), default="keep")
    parser.add_argument("--csv", type=Path, default=Path(__file__).with_suffix(".csv"))
    args = parser.parse_args()
    if args.allocator == "tcmalloc" and allocator.current() == "glibc" and allocator.find_tcmalloc():
        import os

        env = dict(os.environ, LD_PRELOAD=allocator.find_tcmalloc())
        os.execve(sys.executable, [sys.executable, *sys.argv], env)
    torch.set_num_threads(args.threads)
    print(
        f"<!-- {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.machine()}, "
        f"{args.threads} threads, torch {torch.__version__}, allocator {allocator.current()}, "
        f"batch {args.batch} at 224 / train batch {args.train_batch} at 32, {args.rounds} rounds; "
        "ratio = median [min–max] of same-round timm/tokenmix -->",
        flush=True,
    )
    rows = []
    for name in args.models.split(","):
        rows.append(compare(name, args))
        print(f"<!-- done {name} -->", flush=True)
    print(markdown(rows, COLUMNS))
    write_csv(rows, args.csv)
    return 0


if __name__ == "__main__":
    sys.exit(main())
