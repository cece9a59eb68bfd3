"""Does the exported artifact compute what the eager model computes? Run both on inputs at batch sizes other
than the example's (which also proves the batch dimension is dynamic) and compare the logits.

Equal logits prove something only if the logits depend on the input: a Mixer, ResMLP or gMLP classifier is
zero-initialised, so a checkpoint that was never trained gives 0 for every image, and any graph that returns
zeros would "match". The report measures how much the eager logits vary across inputs and refuses to call the
check passed when they do not (`informative`); the caller may then check a copy with random weights instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .extras import require

MIN_SPREAD = 1e-3  # logits must vary across inputs by this fraction of their largest magnitude


@dataclass(frozen=True)
class ParityReport:
    fmt: str
    runtime: str
    batches: tuple[int, ...]
    max_rel_diff: float
    tolerance: float
    spread: float  # (max - min across inputs) / max|logit|, largest over classes, of the eager logits
    inputs: str = "random normal inputs"

    @property
    def matches(self) -> bool:
        return self.max_rel_diff <= self.tolerance

    @property
    def informative(self) -> bool:
        return self.spread >= MIN_SPREAD

    @property
    def ok(self) -> bool:
        return self.matches and self.informative

    def __str__(self) -> str:
        verdict = "OK" if self.ok else "MISMATCH" if not self.matches else "INCONCLUSIVE"
        line = (
            f"parity {verdict}: {self.fmt} in {self.runtime} vs eager PyTorch fp32 on {self.inputs}, "
            f"batches {list(self.batches)}: "
            f"max relative difference {self.max_rel_diff:.2e} (tolerance {self.tolerance:.0e})"
        )
        if self.matches and not self.informative:
            line += (
                f"; but the eager logits do not vary across inputs (relative spread {self.spread:.1e} < "
                f"{MIN_SPREAD:.0e}: an untrained, zero-initialised classifier?), so equal logits prove nothing"
            )
        return line


def runner(fmt: str, path: Path):
    """(runtime name, function from a float32 batch to numpy logits) for an exported file."""
    if fmt == "onnx":
        ort = require("onnxruntime", "running the ONNX file")
        session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        name = session.get_inputs()[0].name
        return "onnxruntime " + ort.__version__, lambda x: session.run(None, {name: x.numpy()})[0]
    if fmt == "torchscript":
        module = torch.jit.load(str(path))
        return "torch.jit", lambda x: module(x).numpy()
    module = torch.export.load(str(path)).module()
    return "torch.export", lambda x: module(x).numpy()


def random_inputs(example: torch.Tensor, batches: tuple[int, ...]) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(1)
    return [torch.randn(b, *example.shape[1:], generator=gen) for b in batches]


@torch.no_grad()
def check_parity(
    reference: nn.Module, fmt: str, path: Path, example: torch.Tensor, batches: tuple[int, ...] = (1, 3),
    tolerance: float = 1e-4, inputs: list[torch.Tensor] | None = None, inputs_name: str = "random normal inputs",
) -> ParityReport:  # fmt: skip
    """Max over the input batches of max|exported - eager| / max|eager|, eager being `reference` in fp32.
    `inputs` (real images) replace the random batches of sizes `batches`."""
    runtime, run = runner(fmt, Path(path))
    xs = inputs if inputs is not None else random_inputs(example, batches)
    worst, expected_all = 0.0, []
    for x in xs:
        expected = reference.eval()(x).numpy()
        got = np.asarray(run(x))
        if got.shape != expected.shape:
            raise ValueError(f"exported {fmt} returned shape {got.shape} for batch {len(x)}, eager {expected.shape}")
        worst = max(worst, float(np.abs(got - expected).max() / max(np.abs(expected).max(), 1e-12)))
        expected_all.append(expected)
    sizes = tuple(len(x) for x in xs)
    return ParityReport(fmt, runtime, sizes, worst, tolerance, logit_spread(np.concatenate(expected_all)), inputs_name)


def logit_spread(logits: np.ndarray) -> float:
    """How much logits (N, K) vary across the N inputs, relative to their largest magnitude (0 when constant)."""
    scale = float(np.abs(logits).max())
    if len(logits) < 2 or scale == 0.0:
        return 0.0
    return float((logits.max(0) - logits.min(0)).max() / scale)
