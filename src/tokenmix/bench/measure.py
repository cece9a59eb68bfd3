"""What `tokenmix bench` measures for one model: size, MACs, inference throughput and latency, a training
step, and peak memory -- for tokenmix and, optionally, for the timm model holding the same weights, timed
round-robin in the same process so that the ratio is taken within each round.

The tokenmix side runs in its fast form (the options below); the timm side is always timm's plain eager fp32
model, the reference the speed targets are stated against.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from ..counting import count_macs, count_params, meta_model
from ..deploy import deploy
from ..factory import create_model, model_cfg
from ..memory_format import preferred_memory_format
from ..train.runtime import amp_dtype, autocast
from .memory import peak_cuda_mb, peak_rss_delta_mb
from .timing import interleaved, median, speedup
from .twin import randomize_weights_, timm_twin


@dataclass(frozen=True)
class Settings:
    batch: int = 16
    img_size: int | None = None  # None: the model's own
    dtype: str = "fp32"  # "fp32" or "bf16" (autocast) for the tokenmix side
    compile: bool = False  # torch.compile the tokenmix side
    deploy: bool = True  # run tokenmix inference in its deployed (fused) form
    vs_timm: bool = False
    train: bool = True
    train_batch: int | None = None  # default: batch
    rounds: int = 5
    warmup: int = 1
    latency_repeat: int = 3
    device: str = "cpu"
    runtime: str = "torch"  # "onnxruntime": tokenmix inference through an exported ONNX file (CPU)
    quantize: str | None = None  # "int8": with runtime onnxruntime, the int8 ONNX file


def build_pair(name: str, settings: Settings) -> tuple[nn.Module, nn.Module | None]:
    """(tokenmix model, timm model with the same weights or None): random weights, eval mode, on device."""
    options = {} if settings.img_size is None else {"img_size": settings.img_size}
    model = randomize_weights_(create_model(name, **options)).eval()
    twin = timm_twin(name, model) if settings.vs_timm else None
    device = torch.device(settings.device)
    return model.to(device), (twin.to(device) if twin is not None else None)


def fast_form(model: nn.Module, settings: Settings, training: bool) -> nn.Module:
    """The tokenmix side as asked: deployed (inference), in its preferred memory format, compiled."""
    model = copy.deepcopy(model)
    if training:
        model.train()
    if settings.deploy and not training:
        deploy(model)  # it takes the preferred memory format too
    else:
        model.to(memory_format=preferred_memory_format(model, settings.device, training))
    return torch.compile(model) if settings.compile else model


def inference_fn(model: nn.Module, x: torch.Tensor, dtype: str, device: str) -> Callable[[], object]:
    def run() -> object:
        with torch.inference_mode(), autocast(device, amp_dtype(dtype, device)):
            out = model(x)
        if device != "cpu":
            torch.cuda.synchronize()
        return out

    return run


def train_step_fn(model: nn.Module, x: torch.Tensor, dtype: str, device: str, num_classes: int) -> Callable[[], object]:
    """One step: forward, cross-entropy, backward, AdamW update, zero_grad."""
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-4, weight_decay=0.05)
    target = torch.randint(0, num_classes, (x.shape[0],), device=x.device)

    def step() -> object:
        with autocast(device, amp_dtype(dtype, device)):
            loss = nn.functional.cross_entropy(model(x), target)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if device != "cpu":
            torch.cuda.synchronize()
        return loss

    return step


def measure(name: str, settings: Settings) -> list[dict]:
    """One row per implementation (tokenmix, and timm with --vs-timm), ratios on the tokenmix row."""
    model, twin = build_pair(name, settings)
    size, dev = model.img_size, settings.device
    gen = torch.Generator().manual_seed(0)
    x_batch = torch.randn(settings.batch, model.in_chans, size, size, generator=gen).to(dev)
    x_one = x_batch[:1].clone()
    sides = {"tokenmix": (fast_form(model, settings, training=False), settings.dtype)}
    if twin is not None:
        sides["timm"] = (twin, "fp32")
    rows = {impl: _static_row(name, impl, model, settings, size, dtype) for impl, (_, dtype) in sides.items()}

    infer = {k: inference_fn(m, x_batch, d, dev) for k, (m, d) in sides.items()}
    latency = {k: inference_fn(m, x_one, d, dev) for k, (m, d) in sides.items()}
    if settings.runtime == "onnxruntime":
        _use_onnxruntime(model, settings, rows["tokenmix"], infer, latency, x_batch, x_one)
    t_infer = interleaved(infer, settings.rounds, settings.warmup)
    t_lat = interleaved(latency, settings.rounds, settings.warmup, repeat=settings.latency_repeat)
    for impl, fn in infer.items():  # after the timed runs: one-time costs (kernel caches) are not counted
        peak = peak_rss_delta_mb(fn) if dev == "cpu" else peak_cuda_mb(fn)
        rows[impl]["peak_mem_mb"] = _round(peak, 1)
    for impl in sides:
        rows[impl]["infer_img_s"] = round(settings.batch / median(t_infer[impl]), 2)
        # the slowest and fastest round: the spread a shared machine put on the median (the plot's error bars)
        rows[impl]["infer_img_s_lo"] = round(settings.batch / max(t_infer[impl]), 2)
        rows[impl]["infer_img_s_hi"] = round(settings.batch / min(t_infer[impl]), 2)
        rows[impl]["latency_ms"] = round(1000 * median(t_lat[impl]), 2)
    if settings.train:
        tb = settings.train_batch or settings.batch
        x_train = torch.randn(tb, model.in_chans, size, size, generator=gen).to(dev)
        steps = {
            "tokenmix": train_step_fn(fast_form(model, settings, True), x_train, settings.dtype, dev, model.num_classes)
        }
        if twin is not None:
            steps["timm"] = train_step_fn(copy.deepcopy(twin), x_train, "fp32", dev, model.num_classes)
        t_train = interleaved(steps, settings.rounds, settings.warmup)
        for impl in steps:
            rows[impl]["train_img_s"] = round(tb / median(t_train[impl]), 2)
    if settings.dtype != "fp32":
        from .agreement import top1_agreement

        rows["tokenmix"]["top1_agree_fp32"] = round(
            top1_agreement(model, sides["tokenmix"][0], x_batch, settings.dtype), 3
        )
    if twin is not None:
        ours = rows["tokenmix"]
        ours["ratio_infer"] = _ratio(t_infer)
        ours["ratio_latency"] = _ratio(t_lat)
        if settings.train:
            ours["ratio_train"] = _ratio(t_train)
    return list(rows.values())


def _use_onnxruntime(model, settings: Settings, row: dict, infer: dict, latency: dict, x_batch, x_one) -> None:
    """Time the tokenmix side's inference in onnxruntime instead of eager torch; int8 calibrates on random
    inputs (speed does not depend on values; agreement on real images is bench/export_speed.py's and the
    export command's), so its top-1 agreement here is on random weights and inputs."""
    from .onnx_runtime import onnx_runner

    calibration = torch.randn(64, *x_batch.shape[1:], generator=torch.Generator().manual_seed(2))
    run, row["runtime"] = onnx_runner(model, settings.quantize, calibration)
    infer["tokenmix"], latency["tokenmix"] = (lambda: run(x_batch)), (lambda: run(x_one))
    with torch.inference_mode():
        expected = model(x_batch).argmax(-1).numpy()
    row["top1_agree_fp32"] = round(float((run(x_batch).argmax(-1) == expected).mean()), 3)


def measure_sweep(name: str, sizes: list[int], settings: Settings) -> list[dict]:
    """Inference throughput and MACs at each resolution (no training, no latency): how cost grows with size.

    Models whose weights are sized by the token count (token MLPs, position embeddings) take only their
    own size: they get one row with a note instead.
    """
    probe = meta_model(model_cfg(name))
    rows = []
    for size in sizes:
        if probe.fixed_input_size and size != probe.img_size:
            rows.append(
                dict(
                    model=name,
                    impl="tokenmix",
                    img_size=size,
                    note="fixed-size model (token-count-sized weights)",
                )
            )
            continue
        sub = Settings(**{**settings.__dict__, "img_size": size, "train": False})
        for row in measure(name, sub):
            rows.append({k: row.get(k) for k in SWEEP_COLUMNS})
    return rows


SWEEP_COLUMNS = ("model", "impl", "img_size", "dtype", "gmacs", "infer_img_s", "infer_img_s_lo", "infer_img_s_hi")
SWEEP_COLUMNS += ("ratio_infer",)


def _static_row(name: str, impl: str, model: nn.Module, settings: Settings, size: int, dtype: str) -> dict:
    return dict(
        model=name,
        impl=impl,
        img_size=size,
        batch=settings.batch,
        dtype=dtype,
        compiled=settings.compile and impl == "tokenmix",
        deployed=settings.deploy and impl == "tokenmix",
        params_m=round(count_params(model) / 1e6, 2),
        gmacs=round(count_macs(model.cfg, size) / 1e9, 3),
    )


def _ratio(times: dict[str, list[float]]) -> float:
    """Median same-round speed-up of tokenmix over timm."""
    return round(speedup(times["timm"], times["tokenmix"])[0], 3)


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None or math.isnan(value) else round(value, digits)
