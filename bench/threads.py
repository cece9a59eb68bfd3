"""How many threads should one training process use on this machine, and should OpenMP's idle threads spin?

The evidence behind `threads="auto"` (tokenmix.train.threads). Each setting runs in its own process (OpenMP reads
OMP_WAIT_POLICY once, at start-up), timing training steps of one model for a few seconds; the settings take
turns, round after round, so a change in the machine's load hits them alike. Run it on a quiet machine and again
beside other jobs (for example `--load 2`: that many one-thread busy loops started by this script):

    PYTHONPATH=src python bench/threads.py [--models convmixer_digits mixer_digits convmixer_256_8_p4_cifar]
        [--rounds 3] [--seconds 8] [--load 0 2] [--csv bench/threads.csv]

Prints one markdown row per (model, load, setting): img/s median [min-max] over rounds, and each setting's
median same-round ratio to one thread.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

SETTINGS = {  # name: (threads, OMP_WAIT_POLICY or None for the OpenMP default)
    "1 thread": (1, None),
    "2 threads": (2, None),
    "2 threads, passive": (2, "PASSIVE"),
}

CHILD = """
import json, sys, time, torch
from tokenmix.bench.measure import train_step_fn
from tokenmix.bench.twin import randomize_weights_
from tokenmix.factory import create_model
name, batch, threads, seconds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
torch.set_num_threads(threads)
model = randomize_weights_(create_model(name))
x = torch.randn(batch, model.in_chans, model.img_size, model.img_size, generator=torch.Generator().manual_seed(0))
step = train_step_fn(model, x, "fp32", "cpu", model.num_classes)
step()
steps, start = 0, time.perf_counter()
while time.perf_counter() - start < seconds:
    step()
    steps += 1
print(json.dumps(dict(img_s=steps * batch / (time.perf_counter() - start))))
"""

BUSY = "while True: pass"


def run_setting(model: str, batch: int, threads: int, policy: str | None, seconds: float) -> float:
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if policy:
        env["OMP_WAIT_POLICY"] = policy
    cmd = [sys.executable, "-c", CHILD, model, str(batch), str(threads), str(seconds)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])["img_s"]


def measure(model: str, batch: int, rounds: int, seconds: float) -> dict[str, list[float]]:
    speeds: dict[str, list[float]] = {name: [] for name in SETTINGS}
    for _ in range(rounds):
        for name, (threads, policy) in SETTINGS.items():
            speeds[name].append(run_setting(model, batch, threads, policy, seconds))
    return speeds


def start_load(count: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", BUSY]) for _ in range(count)]


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["convmixer_digits", "mixer_digits", "convmixer_256_8_p4_cifar"])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--load", nargs="+", type=int, default=[0, 2], help="busy one-thread processes beside it")
    parser.add_argument("--csv", type=Path)
    args = parser.parse_args()
    rows = []
    print(f"{os.cpu_count()} logical CPUs, load average at start {os.getloadavg()[0]:.2f}; batch {args.batch}")
    print("| model | busy processes beside it | setting | img/s median [min-max] | × 1 thread, median [min-max] |")
    print("|---|---|---|---|---|")
    for load in args.load:
        busy = start_load(load)
        try:
            time.sleep(1.0 if load else 0.0)
            for model in args.models:
                speeds = measure(model, args.batch, args.rounds, args.seconds)
                one = speeds["1 thread"]
                for name, values in speeds.items():
                    ratios = [v / o for v, o in zip(values, one, strict=True)]
                    rows.append(dict(model=model, load=load, setting=name, img_s=median(values),
                                     img_s_min=min(values), img_s_max=max(values), ratio=median(ratios),
                                     ratio_min=min(ratios), ratio_max=max(ratios)))  # fmt: skip
                    r = rows[-1]
                    print(f"| {model} | {load} | {name} | {r['img_s']:.0f} [{r['img_s_min']:.0f}-{r['img_s_max']:.0f}] "
                          f"| {r['ratio']:.2f} [{r['ratio_min']:.2f}-{r['ratio_max']:.2f}] |", flush=True)  # fmt: skip
        finally:
            for p in busy:
                p.kill()
    if args.csv:
        with open(args.csv, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)


if __name__ == "__main__":
    main()
