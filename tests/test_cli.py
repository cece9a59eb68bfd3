"""The tokenmix command: tables, structure, predictions, and one-line errors with exit code 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import tokenmix
from tokenmix.cli import main


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_prints_counted_figures_beside_the_paper(capsys) -> None:
    code, out, _ = run(capsys, "list", "resmlp_*_224")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["model", "family", "params_m", "gmacs", "img_size", "paper_top1"]
    assert lines[1].split() == ["resmlp_12_224", "resmlp", "15.35", "3.01", "224", "76.6"]
    assert len(lines) == 5


def test_info_shows_structure_shapes_params_and_macs(capsys) -> None:
    code, out, _ = run(capsys, "info", "mixer_b16_224")
    assert code == 0
    assert "(1, 196, 768)" in out and "params: 59.88M" in out and "MACs:   12.60G" in out
    code, out, _ = run(capsys, "info", "poolformer_s12", "--img-size", "256")
    assert code == 0 and "(1, 512, 8, 8)" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["info", "mixer_b16"], "unknown model 'mixer_b16'; did you mean"),
        (["info", "poolformer_s12", "--img-size", "0"], "img_size must be a positive integer"),
        (["list", "nothing*"], "no model matches"),
    ],
)
def test_user_errors_are_one_line_and_exit_2(capsys, argv: list[str], message: str) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.fixture
def images(tmp_path: Path) -> list[Path]:
    rng = np.random.default_rng(0)
    paths = []
    for i, mode in enumerate(["RGB", "L", "RGBA"]):
        path = tmp_path / f"img{i}.png"
        channels = {"RGB": 3, "L": 1, "RGBA": 4}[mode]
        array = rng.integers(0, 255, (40, 50, channels), dtype=np.uint8).squeeze()
        Image.fromarray(array, mode).save(path)
        paths.append(path)
    return paths


def test_predict_prints_top5_for_each_image(capsys, tmp_path: Path, images: list[Path]) -> None:
    model = tokenmix.create_model("poolformer_s12", num_classes=10)
    torch.nn.init.normal_(model.head.fc.weight)
    tokenmix.save_weights(model, tmp_path / "w.safetensors")
    (tmp_path / "classes.txt").write_text("\n".join(f"class_{i}" for i in range(10)))
    weights, classes = str(tmp_path / "w.safetensors"), str(tmp_path / "classes.txt")
    argv = ["predict", "poolformer_s12", "--checkpoint", weights, "--num-classes", "10", "--classes", classes]
    code, out, _ = run(capsys, *argv, *map(str, images))
    assert code == 0
    blocks = out.strip().split(str(tmp_path))
    assert len(blocks) == 4  # one header per image
    assert out.count("class_") == 15 and out.count("%") == 15


def test_predict_on_an_unreadable_image_is_a_clear_error(capsys, tmp_path: Path) -> None:
    tokenmix.save_weights(tokenmix.create_model("poolformer_s12", num_classes=10), tmp_path / "w.safetensors")
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    code, _, err = run(capsys, "predict", "poolformer_s12", "--checkpoint", str(tmp_path / "w.safetensors"),
                       "--num-classes", "10", str(bad))  # fmt: skip
    assert code == 2 and "cannot read image" in err and "broken.jpg" in err


def test_console_entry_point_runs_as_a_real_process() -> None:
    result = subprocess.run([sys.executable, "-m", "tokenmix", "info", "nope"], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.strip() == "tokenmix info: error: unknown model 'nope'; run `tokenmix list` to see them"


def _openmp_spin_count(**env: str) -> str:
    """GOMP_SPINCOUNT as the libgomp that torch loads in a `tokenmix info` process reports it (OMP_DISPLAY_ENV):
    0 when idle threads sleep at once, 300000 by default, unbounded when ACTIVE."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OMP_", "GOMP_"))}
    cmd = [sys.executable, "-m", "tokenmix", "info", "convmixer_digits"]
    done = subprocess.run(cmd, env={**base, "OMP_DISPLAY_ENV": "VERBOSE", **env}, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    (line,) = [line for line in done.stderr.splitlines() if "GOMP_SPINCOUNT" in line]
    return line.split("=")[1].strip().strip("'")


def test_the_command_lets_idle_openmp_threads_sleep_unless_the_user_chose() -> None:
    assert _openmp_spin_count() == "0"
    assert int(_openmp_spin_count(OMP_WAIT_POLICY="ACTIVE")) > 300000
