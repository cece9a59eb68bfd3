"""`tokenmix bench --runtime onnxruntime --quantize int8` times the int8 ONNX file against timm, and its row says
which runtime and int8 mode it measured."""

from __future__ import annotations

import json

from tokenmix.cli import main


def test_bench_times_the_int8_onnx_file_against_timm(tmp_path, capsys) -> None:
    args = ["bench", "poolformerv2_s12", "--batch", "2", "--img-size", "32", "--rounds", "1", "--warmup", "0"]
    args += ["--vs-timm", "--no-train", "--runtime", "onnxruntime", "--quantize", "int8", "--out", str(tmp_path)]
    assert main(args) == 0
    assert "onnxruntime int8 static" in capsys.readouterr().out  # PoolFormer's weights are Conv (1x1 MLPs)
    ours, theirs = json.loads((tmp_path / "bench.json").read_text())["rows"]
    assert ours["runtime"] == "onnxruntime int8 static" and "runtime" not in theirs
    assert ours["ratio_infer"] > 0 and 0 <= ours["top1_agree_fp32"] <= 1


def test_bench_refuses_bf16_in_onnxruntime(capsys) -> None:
    assert main(["bench", "poolformerv2_s12", "--runtime", "onnxruntime", "--dtype", "bf16"]) == 2
    assert "--runtime onnxruntime runs the fp32" in capsys.readouterr().err
