"""Shared test utilities: randomising every tensor of a model so that no zero-init head or tiny LayerScale can
hide a wiring error; a zip-bomb checkpoint."""

from __future__ import annotations

import zipfile
from pathlib import Path

import torch
from torch import nn


@torch.no_grad()
def randomize_(model: nn.Module, seed: int = 0) -> nn.Module:
    """Replace weight matrices by N(0, 1/fan_in) and shift every vector (norm gains, biases, scales, BN
    statistics) by U(-0.5, 0.5), so each tensor matters and activations stay O(1)."""
    g = torch.Generator().manual_seed(seed)
    for t in model.state_dict().values():
        if not t.is_floating_point():
            continue
        if t.ndim >= 2 and t.shape[0] > 1:
            fan_in = t[0].numel()
            t.copy_(torch.randn(t.shape, generator=g) / fan_in**0.5)
        else:
            t.add_(torch.rand(t.shape, generator=g) - 0.5)
    return model


def max_rel_diff(a: torch.Tensor, b: torch.Tensor) -> float:
    """max |a - b| relative to the scale of a."""
    return ((a - b).abs().max() / a.abs().max().clamp_min(1e-12)).item()


def write_zip_bomb(path: Path, inflated: int) -> Path:
    """mixer_digits' weights as torch.save writes them, but one storage entry is `inflated` bytes of zeros,
    deflated: a file of well under 1 MB that torch.load would inflate to that size."""
    import tokenmix

    plain = path.with_suffix(".plain")
    torch.save(tokenmix.create_model("mixer_digits").state_dict(), plain)
    with zipfile.ZipFile(plain) as src, zipfile.ZipFile(path, "w", compresslevel=9) as dst:
        for entry in src.infolist():
            if not entry.filename.endswith("/data/0"):
                dst.writestr(entry, src.read(entry))
                continue
            info = zipfile.ZipInfo(entry.filename)
            info.compress_type = zipfile.ZIP_DEFLATED
            with dst.open(info, "w", force_zip64=True) as f:
                for _ in range(inflated >> 24):
                    f.write(bytes(1 << 24))
    return path
