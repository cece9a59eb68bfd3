"""A grid run end to end on the built-in digits (seconds per cell): a killed grid finishes only its missing
cells and resumes the killed one exactly; two shards give the report of one process; the report's numbers
are the hand-computed statistics of the cells' own summaries."""

import json
import math
import shutil
import signal
import time

import pytest

from tests.train.util import in_process, popen, tokenmix, weights
from tokenmix.ablate.reference import POOLFORMER_TABLE5_TOP1
from tokenmix.ablate.report import TIMING_KEYS

pytestmark = pytest.mark.slow
T_975_1DF = 12.7062  # Student's t, 0.975 quantile, 1 degree of freedom (printed table)
SLOW_CELLS = ("--mixers", "pool", "identity", "--seeds", "0", "--set", "epochs=1", "--set", "batch_size=16", "--set",
              "checkpoint_every=5")  # fmt: skip


def _checkpoints(cell):
    root = cell / "checkpoints"
    return [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")] if root.is_dir() else []


def test_killed_grid_reruns_only_missing_cells_and_resumes_the_killed_one_exactly(tmp_path):
    out = tmp_path / "grid"
    just_identity = ("--mixers", "identity", "--baseline", "identity", *SLOW_CELLS[3:])
    reference = popen("ablate", "digits-tiny", *just_identity, "--output", tmp_path / "ref")  # uninterrupted
    victim = popen("ablate", "digits-tiny", *SLOW_CELLS, "--output", out)
    killed = out / "cells" / "identity_seed0"
    deadline = time.time() + 200
    while not _checkpoints(killed) and victim.poll() is None and time.time() < deadline:
        time.sleep(0.01)
    victim.send_signal(signal.SIGKILL)
    victim.communicate()
    assert victim.returncode == -signal.SIGKILL, "the grid finished before the kill"
    first = out / "cells" / "pool_seed0" / "summary.json"
    assert first.is_file() and not (killed / "summary.json").exists()
    first_written = first.stat().st_mtime_ns

    rerun = tokenmix("ablate", "digits-tiny", *SLOW_CELLS, "--output", out)
    assert rerun.returncode == 0, rerun.stderr
    assert "to train: 1" in rerun.stdout and "cell identity_seed0" in rerun.stdout
    assert "cell pool_seed0" not in rerun.stdout.split("to train: 1")[1]
    assert "resumed from" in rerun.stdout
    assert first.stat().st_mtime_ns == first_written  # the finished cell was not trained again
    assert "report: 2/2 cells finished" in rerun.stdout

    _, ref_err = reference.communicate(timeout=300)
    assert reference.returncode == 0, ref_err
    resumed, uninterrupted = (
        weights(killed / "model.safetensors"),
        weights(tmp_path / "ref/cells/identity_seed0/model.safetensors"),
    )
    assert resumed.keys() == uninterrupted.keys()
    assert all((resumed[k] == uninterrupted[k]).all() for k in resumed)  # deterministic CPU training: bit-exact


def _without_timing(value):
    if isinstance(value, dict):
        return {k: _without_timing(v) for k, v in value.items() if k not in TIMING_KEYS}
    if isinstance(value, list):
        return [_without_timing(v) for v in value]
    return value


@pytest.fixture(scope="module")
def one_and_two_shards(tmp_path_factory):
    root = tmp_path_factory.mktemp("shards")
    runs = [
        popen("ablate", "digits-tiny", "--output", root / "one"),
        popen("ablate", "digits-tiny", "--shard", "0/2", "--output", root / "two"),
        popen("ablate", "digits-tiny", "--shard", "1/2", "--output", root / "two"),
    ]
    outputs = [r.communicate(timeout=600) for r in runs]
    for r, (_, stderr) in zip(runs, outputs, strict=True):
        assert r.returncode == 0, stderr
    return root, [o[0] for o in outputs]


def test_two_shards_split_the_grid_and_give_the_report_of_one_process(one_and_two_shards, capsys):
    root, (one, shard0, shard1) = one_and_two_shards
    assert "to train: 6" in one and "to train: 3" in shard0 and "to train: 3" in shard1
    trained = [line.split()[-1] for text in (shard0, shard1) for line in text.splitlines() if line.startswith("[")]
    assert len(trained) == 6 and len(set(trained)) == 6  # no cell twice
    code, _, _ = in_process(capsys, "ablate", "report", root / "two")  # after both shards: the full report
    assert code == 0
    one_report = json.loads((root / "one" / "report.json").read_text())
    two_report = json.loads((root / "two" / "report.json").read_text())
    assert _without_timing(one_report) == _without_timing(two_report)
    assert (root / "one" / "cells.csv").read_text() == (root / "two" / "cells.csv").read_text()
    for name in ("report.md", "report.csv", "accuracy_vs_macs.png", "accuracy_vs_params.png", "curves.png", "erf.png"):
        assert (root / "two" / name).stat().st_size > 0


def test_report_numbers_are_the_statistics_of_the_cells_summaries(one_and_two_shards):
    root, _ = one_and_two_shards
    report = json.loads((root / "one" / "report.json").read_text())
    top1 = {}
    for cell in (root / "one" / "cells").iterdir():
        info = json.loads((cell / "cell.json").read_text())
        top1.setdefault(info["mixers"], {})[info["seed"]] = json.loads((cell / "summary.json").read_text())[
            "final_top1"
        ]
    variants = {v["mixers"]: v for v in report["variants"]}
    for mixers, by_seed in top1.items():
        a, b = by_seed[0], by_seed[1]
        assert variants[mixers]["top1_mean"] == pytest.approx((a + b) / 2)
        assert variants[mixers]["top1_std"] == pytest.approx(abs(a - b) / math.sqrt(2))  # n - 1 = 1
    for comp in report["comparisons"]:
        d = [top1[comp["label"]][s] - top1["pool"][s] for s in (0, 1)]
        m, s = (d[0] + d[1]) / 2, abs(d[0] - d[1]) / math.sqrt(2)
        half = T_975_1DF * s / math.sqrt(2)
        assert comp["mean"] == pytest.approx(m)
        assert comp["low"] == pytest.approx(m - half, abs=1e-3) and comp["high"] == pytest.approx(m + half, abs=1e-3)
        assert comp["verdict"] == ("yes" if m - half > 0 or m + half < 0 else "no")
    # Spearman over three variants without ties: 1 - 6 sum d^2 / (n (n^2 - 1))
    means = {k: sum(v.values()) / 2 for k, v in top1.items()}
    ours = sorted(means, key=lambda k: -means[k])
    paper = sorted(means, key=lambda k: -POOLFORMER_TABLE5_TOP1[k])
    d2 = sum((ours.index(k) - paper.index(k)) ** 2 for k in means)
    if len(set(means.values())) == len(means):
        assert report["ranking"]["spearman"] == pytest.approx(1 - 6 * d2 / (3 * 8))
    assert [r["label"] for r in report["ranking"]["rows"]] == ours


def test_report_of_a_partial_grid_counts_what_finished(one_and_two_shards, tmp_path, capsys):
    root, _ = one_and_two_shards
    partial = tmp_path / "partial"
    shutil.copytree(root / "one", partial)
    (partial / "cells" / "identity_seed1" / "summary.json").unlink()  # as if still running
    code, out, _ = in_process(capsys, "ablate", "report", partial)
    assert code == 0 and "report: 5/6 cells finished" in out
    report = json.loads((partial / "report.json").read_text())
    identity = next(c for c in report["comparisons"] if c["label"] == "identity")
    assert identity["verdict"] == "n/a (1 paired seed)" and identity["n"] == 1
    assert identity["low"] is None  # strict JSON: an undefined bound is null, not NaN
    variant = next(v for v in report["variants"] if v["label"] == "identity")
    assert variant["seeds_done"] == 1 and variant["top1_std"] is None


def test_report_rows_say_which_is_the_baseline_and_which_has_not_run(one_and_two_shards, tmp_path, capsys):
    root, _ = one_and_two_shards
    partial = tmp_path / "unrun"
    shutil.copytree(root / "one", partial)
    for seed in (0, 1):
        (partial / "cells" / f"identity_seed{seed}" / "summary.json").unlink()
    assert in_process(capsys, "ablate", "report", partial)[0] == 0
    rows = {line.split("|")[1].strip(): line for line in (partial / "report.md").read_text().splitlines()
            if line.startswith("| ") and "/2 |" in line}  # fmt: skip
    assert "(baseline)" in rows["pool"] and "(baseline)" not in rows["identity"]
    assert "(not run)" in rows["identity"] and "| 0/2 |" in rows["identity"]

    (partial / "cells" / "identity_seed1" / "error.txt").write_text("Traceback ...\n")  # what a crash leaves
    assert in_process(capsys, "ablate", "report", partial)[0] == 0
    assert "(crashed: see its cells' error.txt)" in (partial / "report.md").read_text()
    variants = json.loads((partial / "report.json").read_text())["variants"]
    identity = next(v for v in variants if v["label"] == "identity")
    assert identity["seeds_crashed"] == [1]


def test_a_different_grid_in_the_same_folder_is_refused(one_and_two_shards, capsys):
    root, _ = one_and_two_shards
    code, _, err = in_process(capsys, "ablate", "digits-tiny", "--seeds", "7", "--output", root / "one")
    assert code == 2 and "holds the results of a different grid" in err


def test_report_of_a_folder_without_a_grid_is_refused(tmp_path, capsys):
    code, _, err = in_process(capsys, "ablate", "report", tmp_path)
    assert code == 2 and "is not an ablation folder" in err
