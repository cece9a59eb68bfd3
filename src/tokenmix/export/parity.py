"""Does the exported artifact compute what the eager model computes? Run both on fresh inputs at batch sizes
other than the example's (which also proves the batch dimension is dynamic) and compare the logits."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn


@dataclass(frozen=True)
class ParityReport:
    fmt: str
    runtime: str
    batches: tuple[int, ...]
    max_rel_diff: float
    tolerance: float

    @property
    def ok(self) -> bool:
        return self.max_rel_diff <= self.tolerance

    def __str__(self) -> str:
        verdict = "OK" if self.ok else "MISMATCH"
        return (
            f"parity {verdict}: {self.fmt} in {self.runtime} vs eager PyTorch fp32, "
            f"batches {list(self.batches)}: "
            f"max relative difference {self.max_rel_diff:.2e} (tolerance {self.tolerance:.0e})"
        )


def _runner(fmt: str, path: Path):
    if fmt == "onnx":
        import onnxruntime as ort

        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        return "onnxruntime " + ort.__version__, lambda x: session.run(None, {name: x.numpy()})[0]
    if fmt == "torchscript":
        module = torch.jit.load(str(path))
        return "torch.jit", lambda x: module(x).numpy()
    module = torch.export.load(str(path)).module()
    return "torch.export", lambda x: module(x).numpy()


@torch.no_grad()
def check_parity(
    reference: nn.Module, fmt: str, path: Path, example: torch.Tensor, batches: tuple[int, ...] = (1, 3),
    tolerance: float = 1e-4,
) -> ParityReport:  # fmt: skip
    """Max over `batches` of max|exported - eager| / max|eager|, eager being `reference` in fp32."""
    runtime, run = _runner(fmt, Path(path))
    worst = 0.0
    gen = torch.Generator().manual_seed(1)
    for b in batches:
        x = torch.randn(b, *example.shape[1:], generator=gen)
        expected = reference.eval()(x).numpy()
        got = np.asarray(run(x))
        if got.shape != expected.shape:
            raise ValueError(f"exported {fmt} returned shape {got.shape} for batch {b}, eager {expected.shape}")
        worst = max(worst, float(np.abs(got - expected).max() / max(np.abs(expected).max(), 1e-12)))
    return ParityReport(fmt, runtime, tuple(batches), worst, tolerance)
