"""The ablation skeletons' LayerScale option: PoolFormer's (every residual branch scaled by a per-channel factor
initialised to 1e-5), off by default, and never in gMLP's block, which has none in the paper either."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import tokenmix


def blocks(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if hasattr(m, "norm1")]


def without_blocks(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The model's output with every block replaced by the identity: what LayerScale 1e-5 starts close to."""
    for stage in model.stages:
        stage.blocks = nn.Sequential()
    return model(x)


@pytest.mark.parametrize("name", ["metaformer_small", "metaformer_isotropic"])
def test_layer_scale_starts_every_block_near_the_identity(name):
    torch.manual_seed(0)
    x = torch.randn(2, 3, 32, 32, dtype=torch.float64)
    kwargs = dict(mixers="pool", img_size=32, num_classes=10)
    scaled = tokenmix.create_model(name, layer_scale=1e-5, **kwargs).double().eval()
    plain = tokenmix.create_model(name, **kwargs).double().eval()
    plain.load_state_dict(scaled.state_dict(), strict=False)  # the same weights but the scales
    gammas = [p for n, p in scaled.named_parameters() if ".ls1." in n or ".ls2." in n]
    assert len(gammas) == 2 * len(blocks(scaled)) and all(torch.allclose(g, torch.full_like(g, 1e-5)) for g in gammas)
    assert not any(".ls" in n for n, _ in plain.named_parameters())
    with torch.no_grad():
        out_scaled, out_plain = scaled(x), plain(x)
        skipped = without_blocks(scaled, x)
    assert (out_scaled - skipped).abs().max() < 1e-2 * skipped.abs().max()
    assert (out_plain - skipped).abs().max() > 1e-1 * skipped.abs().max()


def test_gmlp_cells_take_no_layer_scale():
    model = tokenmix.create_model("metaformer_small", mixers="spatial_gating", layer_scale=1e-5, img_size=32)
    assert not any(".ls" in n for n, _ in model.named_parameters())
