"""Deployment on a CPU: timm eager fp32 (the reference) against tokenmix's inference paths -- torch bf16
autocast (deployed), onnxruntime fp32 and onnxruntime int8 (the deployed model exported to ONNX) -- same
weights, same process, interleaved; a ratio is the median [min-max] over rounds of timm time / our time taken
within each round. Target (issue 15): best CPU path >= 2.5x timm eager fp32 at >= 99.5 % top-1 agreement.

    PYTHONPATH=src python bench/export_speed.py [resmlp_12_224 poolformer_s12] [--rounds 5] [--batch 16]

Speed does not depend on the weights' values, so the models carry random weights and int8 calibrates on random
inputs; the top-1 agreement column here is on those random weights and inputs (near-tied logits: a pessimistic
number). Agreement on real images with a trained checkpoint is `tokenmix export ... --quantize int8 --data D`'s
(tests/export/test_int8.py: a trained digits model). Evidence and machine: README.md, "Speed".
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch

from tokenmix.bench.agreement import top1_agreement
from tokenmix.bench.measure import Settings, build_pair, fast_form, inference_fn
from tokenmix.bench.onnx_runtime import onnx_runner
from tokenmix.bench.report import markdown
from tokenmix.bench.timing import interleaved, median, speedup

TARGET = 2.5
PATHS = ("torch bf16", "onnxruntime fp32", "onnxruntime int8")


def compare(name: str, args: argparse.Namespace) -> dict:
    model, twin = build_pair(name, Settings(batch=args.batch, vs_timm=True))
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(args.batch, model.in_chans, model.img_size, model.img_size, generator=gen)
    calibration = torch.randn(64, *x.shape[1:], generator=gen)
    ours = fast_form(model, Settings(), training=False)
    ort_fp32, _ = onnx_runner(model)
    ort_int8, int8_label = onnx_runner(model, "int8", calibration)
    fns = {
        "timm": inference_fn(twin, x, "fp32", "cpu"),
        "torch bf16": inference_fn(ours, x, "bf16", "cpu"),
        "onnxruntime fp32": lambda: ort_fp32(x),
        "onnxruntime int8": lambda: ort_int8(x),
    }
    times = interleaved(fns, args.rounds, warmup=1)
    with torch.inference_mode():
        expected = model(x).argmax(-1).numpy()
    agree = {
        "torch bf16": top1_agreement(model, ours, x, "bf16"),
        "onnxruntime fp32": float((ort_fp32(x).argmax(-1) == expected).mean()),
        "onnxruntime int8": float((ort_int8(x).argmax(-1) == expected).mean()),
    }
    row = {"model": name, "timm": f"{args.batch / median(times['timm']):.3g}", "int8": int8_label}
    agreeing = [p for p in PATHS if agree[p] >= 0.995] or list(PATHS)  # the fastest path that keeps the class
    best = max(agreeing, key=lambda p: speedup(times["timm"], times[p])[0])
    for path in PATHS:
        r = speedup(times["timm"], times[path])
        row[path] = f"{args.batch / median(times[path]):.3g} img/s, {r[0]:.2f}× [{r[1]:.2f}–{r[2]:.2f}]"
        row[path] += f", top-1 {100 * agree[path]:.1f} %"
    ok = speedup(times["timm"], times[best])[0] >= TARGET and agree[best] >= 0.995
    row["best"] = f"{best} {'✔' if ok else '✘'}"
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", default=["resmlp_12_224", "poolformer_s12"])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    np.random.seed(0)
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"# {stamp}, {platform.machine()}, {torch.get_num_threads()} threads, torch {torch.__version__}, "
          f"batch {args.batch}, {args.rounds} rounds; ratio = median [min–max] of same-round timm/ours; "
          f"top-1 = agreement with eager fp32 on {args.batch} random inputs, random weights", flush=True)  # fmt: skip
    rows = []
    for name in args.names:
        rows.append(compare(name, args))
        print(rows[-1], flush=True)
    columns = [("model", "model"), ("timm", "timm eager fp32 img/s"), *((p, p) for p in PATHS),
               ("int8", "int8 mode"), ("best", f"best ≥ {TARGET}× at ≥ 99.5 %")]  # fmt: skip
    print("\n" + markdown(rows, columns))


if __name__ == "__main__":
    main()
