"""Start-up time, process against process: how long a fresh interpreter takes to import torch, to import
tokenmix, to load the whole library, and to answer `tokenmix --help` and `tokenmix list`.

One round runs every command once in a new process, in turn; a time is the median [min-max] over rounds, and a
ratio to `import torch` is the median [min-max] of the ratios taken within each round (the machine is shared and
its load drifts; a same-round ratio cancels most of it).

    python bench/startup.py [--rounds 10]

Targets (issue 15): `tokenmix --help` < 0.5 s, `tokenmix list` < 2 s, the library loaded < 1.3x `import torch`.
Prints a markdown table; the measured one is in README.md, "Start-up".
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"

# label -> (argv after the interpreter, target: ("s", seconds) or ("x torch", ratio) or None)
COMMANDS = {
    "python -c pass": (["-c", "pass"], None),
    "import torch": (["-c", "import torch"], None),
    "import tokenmix": (["-c", "import tokenmix"], ("x torch", 1.3)),
    "library loaded (create_model + registry)": (
        ["-c", "import tokenmix; tokenmix.list_models(); tokenmix.create_model"],
        ("x torch", 1.3),
    ),
    "tokenmix --help": (["-m", "tokenmix", "--help"], ("s", 0.5)),
    "tokenmix train --help": (["-m", "tokenmix", "train", "--help"], ("s", 0.5)),
    "tokenmix list": (["-m", "tokenmix", "list"], ("s", 2.0)),
}


def seconds(argv: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, *argv], env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def measure(rounds: int) -> dict[str, list[float]]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    times: dict[str, list[float]] = {label: [] for label in COMMANDS}
    for argv, _ in COMMANDS.values():  # warm-up: the page cache and __pycache__, not timed
        seconds(argv, env)
    for _ in range(rounds):
        for label, (argv, _) in COMMANDS.items():
            times[label].append(seconds(argv, env))
    return times


def spread(values: list[float], fmt: str) -> str:
    return f"{format(statistics.median(values), fmt)} [{format(min(values), fmt)}-{format(max(values), fmt)}]"


def verdict(label: str, times: dict[str, list[float]], ratios: list[float]) -> str:
    target = COMMANDS[label][1]
    if target is None:
        return "-"
    kind, limit = target
    value = statistics.median(ratios) if kind == "x torch" else statistics.median(times[label])
    unit = "x torch" if kind == "x torch" else "s"
    return f"< {limit} {unit}: {'met' if value < limit else 'MISSED'}"


def table(times: dict[str, list[float]]) -> str:
    torch_times = times["import torch"]
    lines = ["| command | seconds, median [min-max] | / import torch, same round | target |", "|---|---|---|---|"]
    for label, values in times.items():
        ratios = [v / t for v, t in zip(values, torch_times, strict=True)]
        cells = [f"`{label}`", spread(values, ".3f"), spread(ratios, ".2f"), verdict(label, times, ratios)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"# {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {platform.machine()} {os.cpu_count()} cores "
        f"(load average {load}), Python {platform.python_version()}, torch {version('torch')}, "
        f"{args.rounds} rounds"
    )
    print(table(measure(args.rounds)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
