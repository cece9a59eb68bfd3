"""tokenmix bench: its measurements, its ratios and its outputs (tiny settings: these test the harness, not
the speed)."""

from __future__ import annotations

import json

import pytest
import torch

import tokenmix
from tokenmix.bench.agreement import top1_agreement
from tokenmix.bench.measure import Settings, measure_sweep
from tokenmix.bench.memory import available, peak_rss_delta_mb
from tokenmix.bench.timing import interleaved, speedup
from tokenmix.cli import main

from .helpers import randomize_


def test_speedup_is_the_median_of_same_round_ratios() -> None:
    baseline, variant = [2.0, 10.0, 3.0], [1.0, 4.0, 3.0]  # a noisy second round slows both
    assert speedup(baseline, variant) == (2.0, 1.0, 2.5)


def test_interleaved_runs_every_function_once_per_round() -> None:
    calls: list[str] = []
    times = interleaved({"a": lambda: calls.append("a"), "b": lambda: calls.append("b")}, rounds=3, warmup=1)
    assert calls == ["a", "b"] + ["a", "b"] * 3
    assert [len(t) for t in times.values()] == [3, 3]


@pytest.mark.skipif(not available(), reason="needs Linux /proc")
def test_peak_memory_sees_a_64_mb_temporary() -> None:
    mb = peak_rss_delta_mb(lambda: torch.ones(16 * 2**20).sum())  # 64 MiB of float32, freed on return
    assert 60 <= mb <= 200


@pytest.mark.parametrize("name, size", [("resmlp_12_224", 224), ("poolformer_s12", 64)])
def test_bf16_autocast_keeps_most_top1_classes(name: str, size: int) -> None:
    model = randomize_(tokenmix.create_model(name, img_size=size)).eval()
    fast = tokenmix.deploy(randomize_(tokenmix.create_model(name, img_size=size)))
    x = torch.randn(16, 3, size, size, generator=torch.Generator().manual_seed(0))
    assert top1_agreement(model, fast, x, "bf16") >= 0.75


def test_bench_command_writes_table_csv_json_and_plot(tmp_path, capsys) -> None:
    args = ["bench", "poolformerv2_s12", "--batch", "2", "--img-size", "32", "--rounds", "1", "--warmup", "0"]
    args += ["--vs-timm", "--sweep-img-size", "32,64", "--out", str(tmp_path)]
    assert main(args) == 0
    assert "x infer" in capsys.readouterr().out
    payload = json.loads((tmp_path / "bench.json").read_text())
    ours, theirs = payload["rows"]
    assert (ours["impl"], theirs["impl"]) == ("tokenmix", "timm")
    assert ours["ratio_infer"] > 0 and ours["ratio_train"] > 0 and ours["gmacs"] == theirs["gmacs"] > 0
    assert ours["infer_img_s_lo"] <= ours["infer_img_s"] <= ours["infer_img_s_hi"]  # the plot's error bars
    swept = {r["img_size"]: r for r in payload["sweep"] if r["impl"] == "tokenmix"}
    assert swept[64]["gmacs"] > swept[32]["gmacs"]
    assert (tmp_path / "bench.csv").exists() and (tmp_path / "bench.png").stat().st_size > 10_000


def test_sweep_says_token_mlp_models_are_fixed_size() -> None:
    rows = measure_sweep("mixer_s32_224", [64, 128], Settings(batch=1, rounds=1))
    assert [r["img_size"] for r in rows] == [64, 128]
    assert all("fixed-size" in r["note"] for r in rows)
