"""A text file as token ids, split once into a training head and a held-out tail, and batches drawn from it.

The split is fixed by the data (the last `val_fraction` of the tokens, nanoGPT's 90/10) and recorded with the
run. A training batch is `batch_size` windows at positions drawn from a generator seeded by (seed, step)
(tokenmix.data.seeds), so a resumed run draws the same batches without any saved sampler state. Validation
walks the tail in non-overlapping windows, the same every time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

from ..data.seeds import generator
from .masking import IGNORE, mask_tokens
from .tokenizers import Tokenizer


def read_text(path: Path) -> str:
    """The file as text; an empty or binary file is a one-line error."""
    if not path.is_file():
        raise FileNotFoundError(f"data file {path} does not exist")
    raw = path.read_bytes()
    if not raw.strip():
        raise ValueError(f"data file {path} is empty; expected UTF-8 text")
    if b"\0" in raw:
        offset = raw.index(b"\0")
        raise ValueError(f"data file {path} is binary (a NUL byte at offset {offset}); expected UTF-8 text")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise ValueError(
            f"data file {path} is not UTF-8 text (byte {e.start}: {raw[e.start : e.start + 1]!r})"
        ) from None


@dataclass(frozen=True)
class Split:
    train: torch.Tensor  # (T_train,) int64 token ids
    val: torch.Tensor  # (T_val,)

    @staticmethod
    def of(ids: list[int], val_fraction: float, window: int, source: str) -> Split:
        tokens = torch.tensor(ids, dtype=torch.long)
        n_val = int(len(tokens) * val_fraction)
        split = Split(tokens[: len(tokens) - n_val], tokens[len(tokens) - n_val :])
        for name, part in (("training", split.train), ("validation", split.val)):
            if len(part) < window:
                raise ValueError(
                    f"{source}: the {name} part has {len(part)} tokens, fewer than one window of {window} "
                    f"(context + 1 for causal LM); use more text, a shorter context or another val_fraction"
                )
        return split


class Batches:
    """Training and validation batches (inputs, targets) of one objective."""

    def __init__(self, split: Split, tokenizer: Tokenizer, context: int, causal: bool, seed: int, mask_rate: float):
        self.split, self.context, self.causal, self.seed = split, context, causal, seed
        self.mask_id, self.vocab_size = tokenizer.mask_id, len(tokenizer.vocab)
        self.mask_rate = mask_rate
        self.window = context + 1 if causal else context  # causal targets are the inputs shifted by one

    def _pair(self, windows: torch.Tensor, gen: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        if self.causal:
            return windows[:, :-1], windows[:, 1:]
        return mask_tokens(windows, self.mask_id, self.vocab_size, gen, self.mask_rate)

    def train_batch(self, step: int, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Batch `step` (0-based): random windows of the training part, a pure function of (seed, step)."""
        gen = generator(self.seed, "lm-batch", step)
        starts = torch.randint(len(self.split.train) - self.window + 1, (batch_size,), generator=gen)
        windows = self.split.train[starts[:, None] + torch.arange(self.window)]
        return self._pair(windows, gen)

    def val_batches(self, batch_size: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """The held-out tail in non-overlapping windows (masks drawn from a fixed seed for masked LM)."""
        step = self.window - 1 if self.causal else self.window
        starts = torch.arange(0, len(self.split.val) - self.window + 1, step)
        gen = generator(self.seed, "lm-val-mask")
        for chunk in starts.split(batch_size):
            yield self._pair(self.split.val[chunk[:, None] + torch.arange(self.window)], gen)


__all__ = ["IGNORE", "Batches", "Split", "read_text"]
