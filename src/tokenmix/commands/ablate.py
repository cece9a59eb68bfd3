"""tokenmix ablate GRID [--output DIR] [--shard i/N]: train every missing cell of a token-mixer grid and write
its report; tokenmix ablate report DIR: rebuild the report from the finished cells. GRID is a JSON file or a
preset (digits-tiny, cifar10, ...)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", nargs="+", metavar="GRID | report DIR", help="a grid file or preset; or report DIR")
    parser.add_argument("--output", type=Path, help="the ablation folder (default: ablations/<grid name>)")
    parser.add_argument("--shard", default="0/1", help="i/N: train every N-th cell from the i-th (default 0/1)")
    parser.add_argument("--mixers", nargs="+", help="replace the grid's variants: pool identity pool,pool,attn,attn")
    parser.add_argument("--seeds", nargs="+", type=int, help="replace the grid's seeds")
    parser.add_argument("--baseline", help="the mixers every variant is compared with (default: the grid's)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a training field")
    parser.add_argument("--check", action="store_true", help="check every cell on the meta device and stop")
    parser.add_argument(
        "--estimate", action="store_true", help="time a few training steps per variant; estimate the grid's time"
    )


def grid_overrides(args: argparse.Namespace) -> dict[str, object]:
    from ..train.config import parse_value

    out: dict[str, object] = {}
    if args.mixers is not None:
        out["mixers"] = args.mixers
    if args.seeds is not None:
        out["seeds"] = args.seeds
    if args.baseline is not None:
        out["baseline"] = args.baseline
    train = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--set expects KEY=VALUE, got {item!r}")
        train[key.strip()] = parse_value(key.strip(), value)
    if train:
        out["train"] = train
    return out


def run(args: argparse.Namespace) -> int:
    from ..ablate.report import write_report

    if args.target[0] == "report":
        if len(args.target) != 2:
            raise ValueError(f"usage: tokenmix ablate report DIR, got {' '.join(args.target)}")
        return _print_report(Path(args.target[1]), write_report(Path(args.target[1])))
    if len(args.target) != 1:
        raise ValueError(f"expected one grid file or preset, got {' '.join(args.target)}")
    from ..ablate.check import check_grid
    from ..ablate.grid import load_grid, parse_shard
    from ..ablate.runner import run_grid

    grid = load_grid(args.target[0], grid_overrides(args))
    shard = parse_shard(args.shard)
    if args.check:
        cells = check_grid(grid)
        print(f"grid ok: {len(cells)} cells ({len(grid.variants())} variants x {len(grid.seeds)} seeds)")
        return 0
    if args.estimate:
        return _print_estimate(grid, args.target[0])
    out = args.output or Path("ablations") / Path(args.target[0]).stem
    code = run_grid(grid, out, shard)
    if code == 130:
        return code
    _print_report(out, write_report(out))
    return code


def _print_report(out: Path, report: dict) -> int:
    done = sum(v["seeds_done"] for v in report["variants"])
    total = sum(v["seeds_total"] for v in report["variants"])
    rho = report["ranking"]["spearman"]
    print(f"report: {done}/{total} cells finished; Spearman vs PoolFormer Table 5: {json.dumps(rho)}; {out}/report.md")
    return 0


def _print_estimate(grid, name: str) -> int:
    from ..ablate.estimate import KNOWN_SIZES, estimate_grid

    data = grid.train.get("data", "digits")
    if data not in KNOWN_SIZES and "data_dir" not in grid.train:
        raise ValueError(f"--estimate knows the sizes of {', '.join(KNOWN_SIZES)}; this grid trains on {data}")
    sizes = KNOWN_SIZES.get(data) or _npz_sizes(grid.train["data_dir"])
    rows = estimate_grid(grid, *sizes)
    print(f"{name}: {sizes[0]} train / {sizes[1]} test images, {len(grid.seeds)} seeds per variant")
    print(f"{'variant':32s} {'CPU s/step':>10s} {'wall s/step':>11s} {'s/cell':>8s}")
    for r in rows:
        print(f"{r.label:32s} {r.step_s:10.3f} {r.wall_step_s:11.3f} {r.cell_s:8.0f}")
    total = sum(r.cell_s for r in rows) * len(grid.seeds)
    print(f"total: {total:.0f} CPU s = {total / 3600:.2f} h of one core (N one-thread shards on N idle cores: / N)")
    return 0


def _npz_sizes(path: str) -> tuple[int, int]:
    import numpy as np

    with np.load(path, allow_pickle=False, mmap_mode="r") as f:
        return len(f["y_train"]), len(f["y_test"])
