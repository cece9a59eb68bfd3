"""The progress of a run as one value (RunState), and what a checkpoint's state.json holds: that value, the
run's layout and its config (CheckpointInfo), saved and restored whole. A field that a tampered or truncated
file gets wrong is an error naming the file and the field, raised before any data is read, never a traceback
later in the loop."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..checkpoint import CheckpointError


@dataclass
class RunState:
    step: int = 0  # optimizer steps taken; epoch = step // steps_per_epoch
    history: list[dict[str, Any]] = field(default_factory=list)  # one row per finished epoch (metrics.csv)
    best_top1: float | None = None  # best test top-1 so far, plain or EMA
    train_time: float = 0.0  # seconds spent in training steps (not evaluation or checkpoints)
    train_images: int = 0  # images seen in that time, all ranks
    wall_time: float = 0.0  # wall seconds of the trainer (loading, evaluation, checkpoints too), over resumes
    epoch_sums: list[float] = field(default_factory=lambda: [0.0, 0.0, 0.0])  # loss sum, correct, count so far

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: Any, source: Path) -> RunState:
        """The run state in `values` (a parsed state.json), every field type-checked."""
        expect_object(values, source)
        values = {**_ADDED_LATER, **values}
        state = cls(**{f.name: expect(values, f.name, _KINDS[f.name], source) for f in dataclasses.fields(cls)})
        state.history, state.epoch_sums = list(state.history), list(state.epoch_sums)
        if state.step < 0:
            raise CheckpointError(f"resume: {source}: step must be >= 0, got {state.step}")
        if len(state.epoch_sums) != 3 or not all(_is(v, (int, float)) for v in state.epoch_sums):
            raise CheckpointError(f"resume: {source}: epoch_sums must be 3 numbers, got {state.epoch_sums!r}")
        if not all(isinstance(row, dict) for row in state.history):
            raise CheckpointError(f"resume: {source}: history must be a list of objects (one per epoch)")
        return state


@dataclass(frozen=True)
class CheckpointInfo:
    """state.json: the run state, flat, beside the layout a resumed run must match and the resolved config."""

    run: RunState
    steps_per_epoch: int
    world: int  # processes; a run resumes only with as many (each has its own RNG state)
    config: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return dict(**self.run.to_dict(), steps_per_epoch=self.steps_per_epoch, world=self.world, config=self.config)

    @classmethod
    def from_dict(cls, values: Any, source: Path) -> CheckpointInfo:
        run = RunState.from_dict(values, source)
        steps, world = expect(values, "steps_per_epoch", (int,), source), expect(values, "world", (int,), source)
        if steps < 1 or world < 1:
            raise CheckpointError(f"resume: {source}: steps_per_epoch and world must be >= 1, got {steps}, {world}")
        return cls(run, steps, world, expect(values, "config", (dict,), source))


_KINDS: dict[str, tuple[type, ...]] = dict(
    step=(int,),
    history=(list,),
    best_top1=(int, float, type(None)),
    train_time=(int, float),
    train_images=(int,),
    wall_time=(int, float),
    epoch_sums=(list,),
)

# fields that checkpoints of earlier versions lack, with the value such a checkpoint means
_ADDED_LATER: dict[str, Any] = dict(wall_time=0.0)


def _is(value: Any, kinds: tuple[type, ...]) -> bool:
    return isinstance(value, kinds) and not (isinstance(value, bool) and bool not in kinds)


def expect_object(values: Any, source: Path) -> None:
    if not isinstance(values, dict):
        raise CheckpointError(f"resume: {source}: expected a JSON object, got {type(values).__name__}")


def expect(values: dict[str, Any], key: str, kinds: tuple[type, ...], source: Path) -> Any:
    """values[key], which must be one of `kinds` (a JSON bool is no number)."""
    if key not in values:
        raise CheckpointError(f"resume: {source}: the field {key!r} is missing")
    if not _is(values[key], kinds):
        wanted = " or ".join("null" if k is type(None) else k.__name__ for k in kinds)
        raise CheckpointError(f"resume: {source}: {key} must be {wanted}, got {values[key]!r:.60}")
    return values[key]
