"""Evaluation: top-1/top-5/loss and the confusion matrix over a stream of batches."""

from .metrics import Counts, evaluate

__all__ = ["Counts", "evaluate"]
