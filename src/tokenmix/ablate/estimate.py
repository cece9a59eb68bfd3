"""How long a grid will take, from a few measured training steps of each variant's model (forward,
cross-entropy, backward, AdamW at the grid's batch size and thread count, with the recipe's autocast and memory
format, on random images) scaled to the cells' epochs. An estimate for sizing presets: it leaves out data
augmentation and start-up, and the evaluation passes are counted as one third of a training step per image
(forward only).

Steps are timed in CPU seconds of this process (time.process_time), not wall seconds: on a shared machine a
one-thread process's CPU time is what the step costs an idle core, while its wall time grows with everyone
else's load. With more than one thread, CPU time sums over threads and over-states the wall time.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch

from ..factory import create_model
from ..train.runtime import amp_dtype, autocast, memory_format
from .check import CheckedCell, check_grid
from .grid import Grid

# Images per split of the data sets whose size is known without reading them.
KNOWN_SIZES = {"digits": (1437, 360), "cifar10": (50000, 10000), "cifar100": (50000, 10000)}


@dataclass(frozen=True)
class Estimate:
    label: str
    step_s: float  # median CPU seconds per optimizer step
    wall_step_s: float  # median wall seconds per optimizer step (inflated by other processes' load)
    cell_s: float  # estimated seconds per cell (training + evaluation)


def time_steps(train: dict, num_classes: int, steps: int, warmup: int = 2) -> tuple[float, float]:
    """Median (CPU, wall) seconds of one AdamW training step of the cell's model at its batch size."""
    model = create_model(train["model"], num_classes=num_classes, img_size=train["img_size"],
                         in_chans=train["in_chans"] or 3, **train["model_options"])  # fmt: skip
    cpu_device = torch.device("cpu")
    fmt = memory_format(train["channels_last"], model, cpu_device)
    dtype = amp_dtype(train["amp"], cpu_device)
    model = model.to(memory_format=fmt)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x = torch.randn(train["batch_size"], model.in_chans, model.img_size, model.img_size).to(memory_format=fmt)
    y = torch.randint(0, num_classes, (train["batch_size"],))
    cpu, wall = [], []
    for i in range(warmup + steps):
        start_cpu, start_wall = time.process_time(), time.perf_counter()
        with autocast(cpu_device, dtype):
            loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if i >= warmup:
            cpu.append(time.process_time() - start_cpu)
            wall.append(time.perf_counter() - start_wall)
    return sorted(cpu)[len(cpu) // 2], sorted(wall)[len(wall) // 2]


def estimate_grid(grid: Grid, num_train: int, num_test: int, num_classes: int = 10, steps: int = 5) -> list[Estimate]:
    cells: list[CheckedCell] = check_grid(grid)
    first_of_variant = {c.cell.variant: c for c in reversed(cells)}
    out = []
    for variant in grid.variants():
        train = first_of_variant[variant].train
        if train["threads"]:
            torch.set_num_threads(train["threads"])
        step, wall = time_steps(train, num_classes, steps)
        steps_per_epoch = -(-num_train // train["batch_size"])
        eval_s = num_test / train["batch_size"] * step / 3
        out.append(Estimate(variant.label, step, wall, train["epochs"] * (steps_per_epoch * step + eval_s)))
    return out
