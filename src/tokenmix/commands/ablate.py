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
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a training field")
    parser.add_argument("--check", action="store_true", help="check every cell on the meta device and stop")


def grid_overrides(args: argparse.Namespace) -> dict[str, object]:
    from ..train.config import parse_value

    out: dict[str, object] = {}
    if args.mixers is not None:
        out["mixers"] = args.mixers
    if args.seeds is not None:
        out["seeds"] = args.seeds
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
