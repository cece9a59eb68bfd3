"""Small text files for the train-lm tests, written on the spot (CI has no data sets)."""

from __future__ import annotations

import random
from pathlib import Path

PANGRAM = "the quick brown fox jumps over the lazy dog. "
WORDS = "to be or not that is the question whether tis nobler in mind suffer slings and arrows".split()


def pangrams(path: Path, repeats: int = 300) -> Path:
    """One sentence over and over: every character follows from the few before it."""
    path.write_text(PANGRAM * repeats)
    return path


def words(path: Path, n: int = 4000, seed: int = 0) -> Path:
    rng = random.Random(seed)
    path.write_text(" ".join(rng.choice(WORDS) for _ in range(n)) + "\n")
    return path
