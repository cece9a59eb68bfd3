"""Grid files, cells and shards, and bad grids refused before anything trains (one line naming the cell, exit 2)."""

import json
from pathlib import Path

import pytest

from tests.train.util import in_process
from tokenmix.ablate.check import check_grid
from tokenmix.ablate.estimate import estimate_grid
from tokenmix.ablate.grid import load_grid, make_grid, parse_shard, preset_names, shard_cells
from tokenmix.config import ConfigError
from tokenmix.models.ablation import ABLATION_MIXERS

TINY = dict(
    model="metaformer_small",
    model_options={"dims": [8, 16, 32, 32], "depths": [1, 1, 1, 1], "patch_size": 1},
    train={"img_size": 8, "epochs": 1},
    mixers=["pool", "identity"],
    seeds=[0, 1],
)


def test_cells_are_mixers_times_axes_times_seeds_with_unique_names():
    grid = make_grid({**TINY, "vary": {"patch_size": [1, 2]}})
    cells = grid.cells()
    assert len(cells) == 2 * 2 * 2
    assert len({c.name for c in cells}) == len(cells)
    assert cells[0].name == "pool_patch_size1_seed0"
    assert [c.seed for c in cells[:2]] == [0, 1]


def test_width_and_depth_axes_take_per_stage_lists():
    grid = make_grid({**TINY, "vary": {"dims": [[8, 16, 32, 32], [32, 32, 32, 32]], "depths": [[1, 1, 1, 1]]}})
    cells = check_grid(grid)
    assert [c.cell.name for c in cells[:3]] == [
        "pool_dims8x16x32x32_depths1x1x1x1_seed0",
        "pool_dims8x16x32x32_depths1x1x1x1_seed1",
        "pool_dims32x32x32x32_depths1x1x1x1_seed0",
    ]
    assert cells[2].train["model_options"]["dims"] == (32, 32, 32, 32)
    assert json.loads(grid.to_json())["vary"]["dims"] == [[8, 16, 32, 32], [32, 32, 32, 32]]


@pytest.mark.parametrize("count", [1, 2, 3, 5])
def test_shards_are_disjoint_and_cover_the_grid(count):
    cells = make_grid({**TINY, "mixers": ["pool", "identity", "attn"], "seeds": [0, 1, 2]}).cells()
    shards = [shard_cells(cells, i, count) for i in range(count)]
    names = [c.name for shard in shards for c in shard]
    assert sorted(names) == sorted(c.name for c in cells)
    assert len(names) == len(set(names))


@pytest.mark.parametrize("text", ["2/2", "-1/2", "1", "a/b", "0/0"])
def test_bad_shard_is_refused(text):
    with pytest.raises(ConfigError, match="--shard expects i/N"):
        parse_shard(text)


PROBE_GRIDS = sorted((Path(__file__).parents[2] / "reports/ablation/grids").glob("*.json"))


def assert_every_cell_builds(name_or_path: str) -> None:
    grid = load_grid(name_or_path, {"train": {"data_dir": None}})  # the check does not read data; CI has no CIFAR-10
    assert len(check_grid(grid)) == len(grid.variants()) * len(grid.seeds)


def test_presets_are_valid_grids_whose_every_cell_builds():
    assert {"digits-tiny", "cifar10"} <= set(preset_names())
    for name in preset_names():
        assert_every_cell_builds(name)


def test_committed_probe_grids_stay_valid():
    """The grid files beside the committed reports must still build, so that their commands reproduce them."""
    assert {p.name for p in PROBE_GRIDS} >= {"layerscale.json", "long8.json"}
    for path in PROBE_GRIDS:
        assert_every_cell_builds(str(path))


def test_cifar10_preset_covers_every_ablation_mixer_and_two_hybrids_with_three_seeds():
    grid = load_grid("cifar10", {"train": {"data_dir": None}})
    singles = {m for m in grid.mixers if "," not in m}
    assert set(ABLATION_MIXERS) - {"fc"} <= singles
    assert sum("," in m for m in grid.mixers) >= 2
    assert len(grid.seeds) == 3


def test_cell_config_holds_everything_but_the_mixer_and_seed_equal():
    cells = check_grid(make_grid(TINY))
    trains = [c.train for c in cells]
    varying = {k for k in trains[0] if len({json.dumps(t[k], sort_keys=True) for t in trains}) > 1}
    assert varying == {"model_options", "seed"}
    assert {t["model_options"]["mixers"] for t in trains} == {"pool", "identity"}


def _write(tmp_path, **changes):
    path = tmp_path / "grid.json"
    path.write_text(json.dumps({**TINY, **changes}))
    return path


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (dict(mixers=["pool", "poool"]), "cell poool_seed0: unknown token mixer 'poool'; did you mean pool"),
        (dict(mixers=["pool", "pool,attn"]), "cell pool-attn_seed0: expected 1 or 4 mixers (one per stage), got 2"),
        (dict(vary={"patch_size": [1, 16]}), "cell pool_patch_size16_seed0: img_size 8 is smaller than"),
        (dict(model_options={"dims": [8, 16, 16, 16]}, mixers=["attn"]), "cell attn_seed0: metaformer_small with"),
        (dict(seeds=[]), "grid: the seed list is empty"),
        (dict(train={"epochs": 1}), "cell pool_seed0: set train.img_size"),
        (dict(train={"img_size": 8, "data": "npz", "data_dir": "missing.npz"}), "train.data_dir 'missing.npz' is not"),
    ],
)
def test_bad_grid_is_one_line_naming_the_cell_exit_2_nothing_written(tmp_path, capsys, monkeypatch, changes, expected):
    monkeypatch.chdir(tmp_path)
    code, out, err = in_process(capsys, "ablate", _write(tmp_path, **changes), "--output", tmp_path / "out")
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and expected in err, err
    assert not (tmp_path / "out").exists()


def test_isotropic_skeleton_refuses_a_per_stage_hybrid(tmp_path, capsys):
    path = _write(tmp_path, model="metaformer_isotropic", model_options={"dim": 16, "depth": 2, "patch_size": 2},
                  mixers=["pool", "pool,pool,attn,attn"])  # fmt: skip
    code, _, err = in_process(capsys, "ablate", path, "--output", tmp_path / "out")
    assert code == 2 and "cell pool-pool-attn-attn_seed0: expected 1 or 1 mixers" in err, err


def test_check_flag_builds_every_cell_and_trains_nothing(tmp_path, capsys):
    code, out, _ = in_process(capsys, "ablate", "digits-tiny", "--check", "--output", tmp_path / "out")
    assert code == 0 and "grid ok: 6 cells (3 variants x 2 seeds)" in out
    assert not (tmp_path / "out").exists()


def test_estimate_times_every_variant_and_scales_steps_to_epochs():
    grid = load_grid("digits-tiny")
    rows = estimate_grid(grid, num_train=1437, num_test=360, steps=1)
    assert [r.label for r in rows] == [v.label for v in grid.variants()]
    steps = 2 * -(-1437 // 128)  # 2 epochs of ceil(1437 / 128) steps
    for r in rows:
        assert r.step_s > 0 and r.wall_step_s > 0
        assert r.cell_s == pytest.approx(steps * r.step_s + 2 * 360 / 128 * r.step_s / 3)


def test_a_crashing_cell_leaves_its_traceback_and_the_grid_goes_on(tmp_path, monkeypatch, capsys):
    """A bug in one cell (GFNet's filter once failed in channels_last) must not stop an hours-long grid: every
    cell is tried, each crash is one line on stderr with its traceback in the cell's error.txt, exit code 1."""
    import tokenmix.cli
    from tokenmix.ablate.runner import run_grid

    def crash(argv):
        raise RuntimeError(f"bug in {argv[2]}")

    monkeypatch.setattr(tokenmix.cli, "main", crash)
    assert run_grid(make_grid(TINY), tmp_path) == 1
    cells = sorted(p.name for p in (tmp_path / "cells").iterdir())
    assert cells == ["identity_seed0", "identity_seed1", "pool_seed0", "pool_seed1"]
    for name in cells:
        error = (tmp_path / "cells" / name / "error.txt").read_text()
        assert error.startswith("Traceback") and f"RuntimeError: bug in {tmp_path / 'cells' / name}" in error
    crashed = [line for line in capsys.readouterr().err.splitlines() if "crashed" in line]
    assert len(crashed) == 4 and all("error.txt" in line for line in crashed)
