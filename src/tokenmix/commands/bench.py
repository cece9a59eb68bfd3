"""tokenmix bench NAME...: parameters, MACs, inference images/s and batch-1 latency, training-step images/s,
peak memory; with --vs-timm, timm's model with the same weights measured round-robin in the same process, and
the ratios. Writes a table, CSV, JSON and (with --sweep-img-size) a PNG."""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("names", nargs="+", metavar="NAME", help="model names from `tokenmix list`")
    parser.add_argument("--img-size", type=int, default=None, help="input resolution (default: the model's)")
    parser.add_argument("--batch", type=int, default=16, help="batch for throughput and the training step")
    parser.add_argument(
        "--dtype", choices=("fp32", "bf16"), default="fp32", help="tokenmix side: fp32 or bf16 autocast"
    )
    parser.add_argument("--compile", action="store_true", help="torch.compile the tokenmix side")
    parser.add_argument(
        "--runtime", choices=("torch", "onnxruntime"), default="torch",
        help="onnxruntime: time tokenmix inference as an exported ONNX file (CPU)",
    )  # fmt: skip
    parser.add_argument("--quantize", choices=("int8",), help="with --runtime onnxruntime: the int8 ONNX file")
    parser.add_argument("--no-deploy", action="store_true", help="time inference on the un-fused model")
    parser.add_argument("--no-train", action="store_true", help="skip the training step")
    parser.add_argument(
        "--vs-timm", action="store_true", help="also time timm's eager fp32 model with the same weights"
    )
    parser.add_argument("--sweep-img-size", default=None, help="comma-separated resolutions, e.g. 64,128,224,384")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds (medians are reported)")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument(
        "--allocator",
        choices=("keep", "tcmalloc"),
        default="keep",
        help="tcmalloc: restart under LD_PRELOAD=libtcmalloc (both sides share it; README, 'Speed')",
    )
    parser.add_argument("--out", type=Path, default=Path("tokenmix-bench"), help="folder for bench.csv/json/png")


def run(args: argparse.Namespace) -> int:
    from ..bench import allocator

    if args.allocator == "tcmalloc":
        allocator.reexec_with_tcmalloc(sys.argv[1:])
    import torch

    from ..bench.measure import Settings, measure, measure_sweep
    from ..bench.plot import plot
    from ..bench.report import table, write_csv, write_json
    from ..factory import MODELS

    for name in args.names:
        MODELS.get(name)  # unknown names fail before any work
    if args.runtime == "onnxruntime" and (args.dtype != "fp32" or args.compile or args.device != "cpu"):
        raise ValueError("--runtime onnxruntime runs the fp32 (or --quantize int8) ONNX file on the CPU: drop "
                         "--dtype bf16, --compile and --device cuda")  # fmt: skip
    if args.quantize and args.runtime != "onnxruntime":
        raise ValueError("--quantize int8 needs --runtime onnxruntime")
    if args.threads:
        torch.set_num_threads(args.threads)
    settings = Settings(
        batch=args.batch,
        img_size=args.img_size,
        dtype=args.dtype,
        compile=args.compile,
        deploy=not args.no_deploy,
        vs_timm=args.vs_timm,
        train=not args.no_train,
        rounds=args.rounds,
        warmup=args.warmup,
        device=args.device,
        runtime=args.runtime,
        quantize=args.quantize,
    )
    env = dict(
        date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        machine=f"{platform.machine()} {platform.processor()} {torch.get_num_threads()} threads",
        torch=torch.__version__,
        allocator=allocator.current(),
        memory_method="peak RSS growth in one batch-B inference call (VmHWM - VmRSS, free pages returned)",
    )
    print(f"# {env['date']}, {env['machine']}, torch {env['torch']}, allocator {env['allocator']}", flush=True)
    if env["allocator"] == "glibc" and allocator.find_tcmalloc():
        print("# tip: --allocator tcmalloc runs both sides without glibc's mmap churn (often 1.2-1.6x eager)")
    rows = []
    for name in args.names:
        rows.extend(measure(name, settings))
        print(table(rows[-2:] if args.vs_timm else rows[-1:]), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    print("\n" + table(rows))
    write_csv(rows, args.out / "bench.csv")
    payload = dict(env=env, settings=settings.__dict__, rows=rows)
    if args.sweep_img_size:
        sizes = [int(s) for s in args.sweep_img_size.split(",") if s.strip()]
        sweep = [row for name in args.names for row in measure_sweep(name, sizes, settings)]
        print("\nresolution sweep (inference only):\n" + table(sweep))
        write_csv(sweep, args.out / "sweep.csv")
        payload["sweep"] = sweep
        plot(sweep, args.out / "bench.png")
    else:  # one resolution per model: the speed and MACs panels become per-model bars
        plot(rows, args.out / "bench.png")
    write_json(payload, args.out / "bench.json")
    print(f"\nwrote {args.out}/bench.csv, bench.json, bench.png" + (", sweep.csv" if args.sweep_img_size else ""))
    return 0
