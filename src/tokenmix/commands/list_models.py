"""tokenmix list [PATTERN]: the registered models with counted params and MACs beside the paper's figures."""

from __future__ import annotations

import argparse

from ..counting import count_macs, count_params, meta_model
from ..factory import MODELS, list_models


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("pattern", nargs="?", help="shell-style filter, e.g. 'resmlp_*'")
    parser.add_argument("--markdown", action="store_true", help="a markdown table with the paper's figures and source")


def rows(pattern: str | None) -> list[dict[str, str]]:
    out = []
    for name in list_models(pattern):
        entry = MODELS.get(name)
        cfg = entry.make_cfg()
        out.append(
            dict(
                model=name,
                family=entry.family,
                params_m=f"{count_params(meta_model(cfg)) / 1e6:.2f}",
                gmacs=f"{count_macs(cfg) / 1e9:.2f}",
                img_size=str(cfg.img_size),
                paper_top1=entry.paper.top1 or "-",
            )
        )
    return out


def markdown(table: list[dict[str, str]]) -> str:
    """The README's model table: counted figures beside the paper's, with the source."""
    lines = [
        "| model | family | params (M) counted / paper | GMACs counted / paper | paper top-1 (pre-training) | source |",
        "|---|---|---|---|---|---|",
    ]
    for row in table:
        paper = MODELS.get(row["model"]).paper
        params = f"{row['params_m']} / {paper.params_m or '-'}" + (" (no head)" if paper.params_exclude_head else "")
        lines.append(
            f"| {row['model']} | {row['family']} | {params} | {row['gmacs']} / {paper.macs_g or '-'} | "
            f"{f'{paper.top1} ({paper.pretrain})' if paper.top1 else '-'} | {paper.source} |"
        )
    return "\n".join(lines)


def format_table(table: list[dict[str, str]]) -> str:
    if not table:
        return ""
    cols = list(table[0])
    widths = {c: max(len(c), *(len(r[c]) for r in table)) for c in cols}
    lines = ["  ".join(c.ljust(widths[c]) for c in cols)]
    lines += ["  ".join(r[c].ljust(widths[c]) for c in cols) for r in table]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    table = rows(args.pattern)
    if not table:
        raise ValueError(f"no model matches {args.pattern!r}; run `tokenmix list` for all")
    print(markdown(table) if args.markdown else format_table(table))
    return 0
