"""The bench figure: inference throughput (median, with the slowest and fastest round as error bars) and MACs,
per model at one resolution or against resolution (a --sweep-img-size run). Only what this run measured: the
papers' accuracy figures are in `tokenmix info` and the README's model table, not repeated on every run."""

from __future__ import annotations

from pathlib import Path


def _yerr(rows: list[dict]) -> list[list[float]] | None:
    """Asymmetric error bars from the rows' per-round range; None when a row lacks it."""
    if any(r.get("infer_img_s_lo") is None or r.get("infer_img_s_hi") is None for r in rows):
        return None
    lo = [r["infer_img_s"] - r["infer_img_s_lo"] for r in rows]
    hi = [r["infer_img_s_hi"] - r["infer_img_s"] for r in rows]
    return [lo, hi]


def plot(sweep_rows: list[dict], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_speed, ax_macs) = plt.subplots(1, 2, figsize=(12, 4.8))
    measured = [r for r in sweep_rows if r.get("infer_img_s") is not None]
    if len({r["img_size"] for r in measured}) <= 1:  # no sweep: one resolution, so bars per model
        _bars(ax_speed, ax_macs, measured)
    else:
        _lines(ax_speed, ax_macs, measured)
    fixed = sorted({r["model"] for r in sweep_rows if r.get("note")})
    if fixed:
        ax_macs.text(0.02, 0.02, "fixed-size, not swept: " + ", ".join(fixed), transform=ax_macs.transAxes, fontsize=7)
    for ax in (ax_speed, ax_macs):
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _lines(ax_speed, ax_macs, rows: list[dict]) -> None:
    for name in dict.fromkeys(r["model"] for r in rows):
        for impl, style in (("tokenmix", "-o"), ("timm", "--x")):
            mine = sorted((r for r in rows if r["model"] == name and r["impl"] == impl), key=lambda r: r["img_size"])
            if not mine:
                continue
            sizes = [r["img_size"] for r in mine]
            speed = [r["infer_img_s"] for r in mine]
            ax_speed.errorbar(sizes, speed, yerr=_yerr(mine), fmt=style, capsize=3, label=f"{name} ({impl})")
            if impl == "tokenmix":
                ax_macs.plot(sizes, [r["gmacs"] for r in mine], "-o", label=name)
    ax_speed.set(xlabel="image size (px)", ylabel="images / s", title="inference throughput", yscale="log")
    ax_macs.set(xlabel="image size (px)", ylabel="GMACs / image", title="MACs (torch flop counter)", yscale="log")


def _bars(ax_speed, ax_macs, rows: list[dict]) -> None:
    """Inference images/s per model (tokenmix beside timm when measured) and GMACs per model."""
    names = list(dict.fromkeys(r["model"] for r in rows))
    for k, impl in enumerate(("tokenmix", "timm")):
        mine = [next(r for r in rows if r["model"] == n and r["impl"] == impl) for n in names
                if any(r["model"] == n and r["impl"] == impl for r in rows)]  # fmt: skip
        if mine:
            xs = [names.index(r["model"]) + 0.4 * k for r in mine]
            speed = [r["infer_img_s"] for r in mine]
            ax_speed.bar(xs, speed, width=0.4, yerr=_yerr(mine), capsize=3, label=impl)
    macs = {r["model"]: r["gmacs"] for r in rows if r["impl"] == "tokenmix"}
    ax_macs.bar(range(len(names)), [macs.get(n, 0) for n in names])
    size = rows[0]["img_size"] if rows else "?"
    ax_speed.set_xticks([i + 0.2 for i in range(len(names))], names, rotation=30, ha="right", fontsize=7)
    ax_macs.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=7)
    ax_speed.set(ylabel="images / s (bars: slowest-fastest round)", title=f"inference throughput at {size} px")
    ax_macs.set(ylabel="GMACs / image", title=f"MACs at {size} px (torch flop counter)")
