"""A cell's wall time in the ablation report: the trainer's clock summed over every resume (summary.json
wall_time_s), not only the attempt that finished it (wall.json, what runs from before wall_time_s have)."""

from __future__ import annotations

import json
import math

from tokenmix.ablate.report import cell_wall


def test_a_resumed_cell_counts_every_segment(tmp_path):
    (tmp_path / "wall.json").write_text(json.dumps(dict(wall_s=120.0)))  # the last attempt only
    assert cell_wall(tmp_path, {"wall_time_s": 500.0}) == 500.0
    assert cell_wall(tmp_path, {}) == 120.0
    assert math.isnan(cell_wall(tmp_path / "nothing", {}))
