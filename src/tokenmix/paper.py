"""The papers' own figures, as data that tests check our models against.

Papers print rounded numbers ("19M", "1.8G"), so a figure is stored as the string the paper printed and the
check allows half a unit in its last printed digit, or 1 % (params) / 5 % (MACs), whichever is larger.
Most of these papers label MACs "FLOPs" (the fvcore convention); `macs_kind` says which the source printed, and
the value stored is always multiply-accumulates.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PaperFacts:
    params_m: str | None  # millions, as printed
    macs_g: str | None  # billions of multiply-accumulates at img_size, as printed (None: not in the paper)
    top1: str | None  # ImageNet-1k top-1 at img_size, as printed (None: not in the paper)
    source: str  # paper, table and how sure we are (✔ read, ≈ transcribed, ✗ unverified)
    img_size: int = 224
    macs_kind: str = "MACs"  # what the source calls them: "MACs" or "FLOPs (=MACs)"
    params_exclude_head: bool = False  # Mixer's Table 1 counts parameters without the classifier
    pretrain: str = "ImageNet-1k"  # data the top-1 model was trained on before ImageNet-1k evaluation
    deviation: str | None = None  # a documented reason why our count may differ beyond rounding
    deviation_tolerance: float = 0.0  # the relative difference that reason allows


def tolerance(printed: str, relative: float) -> float:
    """Half a unit of the last printed digit, or `relative` of the value, whichever is larger."""
    decimals = len(printed.split(".")[1]) if "." in printed else 0
    return max(0.5 * 10**-decimals, relative * float(printed))


def agrees(ours: float, printed: str | None, relative: float, facts: PaperFacts) -> bool:
    if printed is None:
        return True
    slack = max(tolerance(printed, relative), facts.deviation_tolerance * float(printed))
    return abs(ours - float(printed)) <= slack + 1e-9
