"""Classification metrics as sums (so ranks can add them): loss, top-1, top-5 and the confusion matrix."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import nullcontext
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass
class Counts:
    loss_sum: float
    top1: int
    top5: int
    count: int
    confusion: torch.Tensor  # (num_classes, num_classes) int64, rows = true class, columns = predicted

    @property
    def top1_pct(self) -> float:
        return 100.0 * self.top1 / max(self.count, 1)

    @property
    def top5_pct(self) -> float:
        return 100.0 * self.top5 / max(self.count, 1)

    @property
    def loss(self) -> float:
        return self.loss_sum / max(self.count, 1)

    def per_class_pct(self) -> list[float | None]:
        """Recall of each class in %, None for a class with no test image."""
        totals, hits = self.confusion.sum(1), self.confusion.diagonal()
        return [None if t == 0 else 100.0 * h / t for h, t in zip(hits.tolist(), totals.tolist(), strict=True)]


def tta_logits(model: nn.Module, x: torch.Tensor, hflip: bool = False, translate: int = 0) -> torch.Tensor:
    """Float logits of `x`, averaged over test-time views as in cifar10-airbench: with `hflip`, each view's
    mirror image too; with `translate` t > 0, half the weight goes to the image itself and a quarter each to the
    image shifted by t pixels up-left and down-right (reflect padding)."""

    def mirrored(v: torch.Tensor) -> torch.Tensor:
        out = model(v).float()
        return (out + model(v.flip(-1)).float()) / 2 if hflip else out

    logits = mirrored(x)
    if translate:
        h, w = x.shape[-2:]
        padded = F.pad(x, (translate,) * 4, mode="reflect")
        shifted = mirrored(padded[..., :h, :w]) + mirrored(padded[..., 2 * translate :, 2 * translate :])
        logits = (logits + shifted / 2) / 2
    return logits


@torch.no_grad()
def evaluate(
    model: nn.Module,
    batches: Iterable[tuple[torch.Tensor, torch.Tensor]],
    num_classes: int,
    device: torch.device,
    autocast: torch.autocast | None = None,
    memory_format: torch.memory_format = torch.contiguous_format,
    hflip: bool = False,
    progress: Callable[[int], None] | None = None,
    translate: int = 0,
) -> Counts:
    """Sums over `batches`, with the test-time augmentation of `tta_logits` (none by default). `progress` is
    called with each batch's image count."""
    was_training = model.training
    model.eval()
    loss_sum, top1, top5, count = 0.0, 0, 0, 0
    confusion = torch.zeros(num_classes, num_classes, dtype=torch.int64)
    k = min(5, num_classes)
    for x, y in batches:
        x, y = x.to(device, memory_format=memory_format), y.to(device)
        with autocast or nullcontext():
            logits = tta_logits(model, x, hflip, translate)
        loss_sum += F.cross_entropy(logits, y, reduction="sum").item()
        topk = logits.topk(k, dim=1).indices  # (B, k)
        top1 += (topk[:, 0] == y).sum().item()
        top5 += (topk == y[:, None]).any(1).sum().item()
        count += len(y)
        if progress is not None:
            progress(len(y))
        confusion += torch.bincount(y.cpu() * num_classes + topk[:, 0].cpu(), minlength=num_classes**2).view(
            num_classes, num_classes
        )
    model.train(was_training)
    return Counts(loss_sum, top1, top5, count, confusion)
