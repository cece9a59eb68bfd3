"""The bench figure: throughput and MACs against resolution (from a --sweep-img-size run), and ImageNet top-1
against MACs from the papers' own figures (model.paper) for the registered models, benchmarked ones named."""

from __future__ import annotations

from pathlib import Path

from ..factory import MODELS, list_models


def paper_points() -> list[tuple[str, str, float, float]]:
    """(name, family, paper GMACs, paper top-1) for every registered model whose paper prints both."""
    points = []
    for name in list_models():
        entry = MODELS.get(name)
        if entry.paper.macs_g and entry.paper.top1:
            points.append((name, entry.family, float(entry.paper.macs_g), float(entry.paper.top1)))
    return points


def plot(sweep_rows: list[dict], benched: list[str], path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_speed, ax_macs, ax_acc) = plt.subplots(1, 3, figsize=(16, 4.8))
    measured = [r for r in sweep_rows if r.get("infer_img_s") is not None]
    if len({r["img_size"] for r in measured}) <= 1:  # no sweep: one resolution, so bars per model
        _bars(ax_speed, ax_macs, measured)
        measured = []
    for name in dict.fromkeys(r["model"] for r in measured):
        for impl, style in (("tokenmix", "-o"), ("timm", "--x")):
            pts = sorted(
                (r["img_size"], r["infer_img_s"], r["gmacs"])
                for r in measured
                if r["model"] == name and r["impl"] == impl
            )
            if not pts:
                continue
            sizes, speed, macs = zip(*pts, strict=True)
            ax_speed.plot(sizes, speed, style, label=f"{name} ({impl})")
            if impl == "tokenmix":
                ax_macs.plot(sizes, macs, "-o", label=name)
    fixed = sorted({r["model"] for r in sweep_rows if r.get("note")})
    if not ax_speed.patches:
        ax_speed.set(xlabel="image size (px)", ylabel="images / s", title="inference throughput", yscale="log")
        ax_macs.set(xlabel="image size (px)", ylabel="GMACs / image", title="MACs (torch flop counter)", yscale="log")
    if fixed:
        ax_macs.text(0.02, 0.02, "fixed-size, not swept: " + ", ".join(fixed), transform=ax_macs.transAxes, fontsize=7)
    for ax in (ax_speed, ax_macs):
        if ax.lines:
            ax.legend(fontsize=7)
    families: dict[str, list] = {}
    for name, family, macs, top1 in paper_points():
        families.setdefault(family, []).append((macs, top1, name))
    colors = plt.get_cmap("tab20").colors  # more families than the default cycle's 10 colours
    for k, (family, pts) in enumerate(sorted(families.items())):
        macs, top1, _ = zip(*pts, strict=True)
        ax_acc.scatter(macs, top1, label=family, color=colors[k % len(colors)])
        for m, t, name in pts:
            if name in benched:
                ax_acc.annotate(name, (m, t), fontsize=7)
    ax_acc.set(
        xlabel="GMACs (paper)",
        ylabel="ImageNet-1k top-1 % (paper)",
        title="accuracy vs MACs (paper figures)",
        xscale="log",
    )
    ax_acc.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def _bars(ax_speed, ax_macs, rows: list[dict]) -> None:
    """Inference images/s per model (tokenmix beside timm when measured) and GMACs per model."""
    names = list(dict.fromkeys(r["model"] for r in rows))
    for k, impl in enumerate(("tokenmix", "timm")):
        speed = {r["model"]: r["infer_img_s"] for r in rows if r["impl"] == impl}
        if speed:
            xs = [i + 0.4 * k for i, n in enumerate(names) if n in speed]
            ax_speed.bar(xs, [speed[n] for n in names if n in speed], width=0.4, label=impl)
    macs = {r["model"]: r["gmacs"] for r in rows if r["impl"] == "tokenmix"}
    ax_macs.bar(range(len(names)), [macs.get(n, 0) for n in names])
    size = rows[0]["img_size"] if rows else "?"
    ax_speed.set_xticks([i + 0.2 for i in range(len(names))], names, rotation=30, ha="right", fontsize=7)
    ax_macs.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=7)
    ax_speed.set(ylabel="images / s", title=f"inference throughput at {size} px")
    ax_macs.set(ylabel="GMACs / image", title=f"MACs at {size} px (torch flop counter)")
    ax_speed.legend(fontsize=7)
