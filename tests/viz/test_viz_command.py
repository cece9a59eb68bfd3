"""`tokenmix viz` writes each picture type, with maps that are the model's own weights laid out on its grid."""

import json

import pytest
import torch

from tests.train.util import in_process, tokenmix
from tokenmix import create_model, save_weights
from tokenmix.viz.load import load_model
from tokenmix.viz.weights import MAX_MAPS, weight_maps

OPTS = dict(img_size=8, in_chans=1, num_classes=10, dim=16, depth=2, patch_size=2)  # a 4 x 4 token grid


@pytest.mark.parametrize(
    ("mixer", "kind", "shape"),
    [
        ("token_mlp", "token_mixing", (8, 4, 4)),  # D_S = dim / 2 hidden units, each a map over 4 x 4 tokens
        ("spatial_gating", "spatial_gating", (16, 4, 4)),  # N = 16 output tokens
        ("linear_tokens", "token_linear", (16, 4, 4)),
        ("dwconv", "depthwise_kernels", (16, 3, 3)),  # one 3 x 3 kernel per channel
        ("global_filter", "global_filter", (16, 4, 3)),  # rfft2 grid: 4 x (4 // 2 + 1)
    ],
)
def test_viz_writes_the_mixer_pictures_and_the_erf(tmp_path, capsys, mixer, kind, shape):
    model = create_model("metaformer_isotropic", mixers=mixer, **OPTS)
    save_weights(model, tmp_path / "m.safetensors")
    code, out, err = in_process(capsys, "viz", tmp_path / "m.safetensors", "--output", tmp_path / "viz")
    assert code == 0, err
    index = json.loads((tmp_path / "viz" / "viz.json").read_text())
    assert index == {f"{kind}_stage0_block0": list(shape), f"{kind}_stage0_block1": list(shape), "erf": [1, 8, 8]}
    for name in index:
        assert (tmp_path / "viz" / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_token_maps_are_weight_rows_in_row_major_token_order(tmp_path):
    model = create_model("metaformer_isotropic", mixers="token_mlp", **OPTS)
    save_weights(model, tmp_path / "m.safetensors")
    loaded, _ = load_model(tmp_path / "m.safetensors")
    maps = weight_maps(loaded, blocks=1)[0].maps
    w = model.stages[0].blocks[0].token_mixer.fc1.weight  # (D_S, N): token n = h * W + w of the 4 x 4 grid
    for unit in range(w.shape[0]):
        for n in range(16):
            assert maps[unit, n // 4, n % 4] == w[unit, n]


def test_global_filter_picture_is_the_magnitude_of_the_complex_weight(tmp_path):
    model = create_model("metaformer_isotropic", mixers="global_filter", **OPTS)
    (picture,) = weight_maps(model, blocks=1)
    cw = model.stages[0].blocks[0].token_mixer.complex_weight.detach()  # (H, W//2+1, C, 2)
    expected = (cw[..., 0] ** 2 + cw[..., 1] ** 2).sqrt().permute(2, 0, 1)
    torch.testing.assert_close(picture.maps, expected)


def test_maps_are_capped_at_an_8_by_8_grid():
    model = create_model("metaformer_isotropic", mixers="dwconv", **{**OPTS, "dim": 96})
    assert weight_maps(model, blocks=1)[0].maps.shape == (MAX_MAPS, 3, 3)


@pytest.mark.slow
def test_viz_of_a_trained_run_folder_uses_the_runs_test_images(tmp_path):
    run = tmp_path / "run"
    trained = tokenmix("train", "--model", "mixer_digits", "--epochs", "1", "--output", run)
    assert trained.returncode == 0, trained.stderr
    shown = tokenmix("viz", run)
    assert shown.returncode == 0, shown.stderr
    index = json.loads((run / "viz" / "viz.json").read_text())
    # mixer_digits: dim 64, patch 2 on 8 x 8 digits: 16 tokens, D_S = 32 hidden units per token MLP
    assert index["token_mixing_stage0_block0"] == [32, 4, 4] and index["erf"] == [1, 8, 8]


def test_viz_refuses_what_is_not_a_checkpoint(tmp_path, capsys):
    (tmp_path / "w.pth").write_bytes(b"x")
    code, _, err = in_process(capsys, "viz", tmp_path / "w.pth")
    assert code == 2 and "expected a run folder or a .safetensors checkpoint" in err
    code, _, err = in_process(capsys, "viz", tmp_path)
    assert code == 2 and "expected a run folder with model.safetensors" in err
