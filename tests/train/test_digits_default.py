"""`tokenmix train` with no arguments: the README's first command. It must train the default ConvMixer on the
bundled digits to >= 98 % test top-1 and say so. Its time is printed, not asserted (a shared machine's timing is
no test; the README's seconds are measurements)."""

from __future__ import annotations

import json
import re
import time

from .util import tokenmix


def test_train_without_arguments_reaches_98_percent_on_digits(tmp_path):
    t0 = time.perf_counter()
    done = tokenmix("train", "--output", tmp_path / "run")
    wall = time.perf_counter() - t0
    assert done.returncode == 0, done.stderr
    match = re.search(r"test accuracy: ([\d.]+)% top-1", done.stdout)
    assert match, done.stdout
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    print(
        f"digits default: {summary['final_top1']:.2f}% in {summary['train_time_s']:.1f} s training, {wall:.1f} s wall"
    )
    assert float(match.group(1)) >= 98.0
    assert summary["final_top1"] >= 98.0 and summary["model"] == "convmixer_digits"
    for name in ("config.json", "metrics.csv", "summary.json", "curves.png", "model.safetensors"):
        assert (tmp_path / "run" / name).is_file(), name
    assert list((tmp_path / "run" / "tb").iterdir()), "no TensorBoard events"
    rows = (tmp_path / "run" / "metrics.csv").read_text().splitlines()
    assert len(rows) == 1 + summary["epochs"]
