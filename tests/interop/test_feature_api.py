"""timm's feature-extraction API on the skeleton, and a forward torch.fx can trace (torchvision's extractor)."""

from __future__ import annotations

import pytest
import torch
from torchvision.models.feature_extraction import create_feature_extractor

import tokenmix


def _hooked(model: torch.nn.Module, names: list[str], x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Module outputs captured by forward hooks in an eager run: the reference the traced graph must match."""
    out = {}
    handles = [model.get_submodule(n).register_forward_hook(lambda m, a, y, n=n: out.__setitem__(n, y)) for n in names]
    with torch.no_grad():
        model(x)
    for h in handles:
        h.remove()
    return out


@pytest.mark.parametrize(
    ("name", "nodes"),
    [("mixer_s32_224", ["stages.0.blocks.2", "stages.0.blocks.7"]), ("poolformer_s12", ["stages.1", "stages.3"])],
)
def test_torchvision_feature_extractor_traces_the_model(name: str, nodes: list[str]) -> None:
    model = tokenmix.create_model(name).eval()
    x = torch.randn(1, 3, 224, 224)
    extractor = create_feature_extractor(model, {n: n for n in nodes})
    with torch.no_grad():
        traced = extractor(x)
    for n, expected in _hooked(model, nodes, x).items():
        torch.testing.assert_close(traced[n], expected)


def test_stop_early_and_prefix_tokens() -> None:
    model = tokenmix.create_model("vit_tiny_patch16_224").eval()
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        taps = _hooked(model, ["stages.0.blocks.1"], x)
        early = model.forward_intermediates(x, indices=[1], stop_early=True, intermediates_only=True)
        (patches, cls), *_ = model.forward_intermediates(x, indices=[1], return_prefix_tokens=True)[1]
    tokens = taps["stages.0.blocks.1"]  # (1, 1 + 196, 192): class token first
    torch.testing.assert_close(cls, tokens[:, :1])
    torch.testing.assert_close(patches, tokens[:, 1:].transpose(1, 2).reshape(1, 192, 14, 14))
    torch.testing.assert_close(early[0], patches)
    with pytest.raises(ValueError, match="expected intermediate positions in"):
        model.forward_intermediates(x, indices=[12])


def test_prune_keeps_the_taps_and_drops_the_rest() -> None:
    model = tokenmix.create_model("poolformer_s12").eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        expected = model.forward_intermediates(x, indices=[0, 1], intermediates_only=True)
        assert model.prune_intermediate_layers([0, 1], prune_norm=True) == [0, 1]
        got = model.forward_intermediates(x, indices=[0, 1], intermediates_only=True)
    assert len(model.stages) == 2 and isinstance(model.head.fc, torch.nn.Identity)
    for a, b in zip(got, expected, strict=True):
        torch.testing.assert_close(a, b)


def test_set_input_size_moves_free_models_and_refuses_token_sized_ones() -> None:
    free = tokenmix.create_model("poolformer_s12")
    free.set_input_size(96)
    assert free.pretrained_cfg["input_size"] == (3, 96, 96) and free.cfg.img_size == 96
    with pytest.raises(ValueError, match=r"sized by its token grid at 224 px.*img_size=96"):
        tokenmix.create_model("mixer_s32_224").set_input_size((96, 96))


def test_max_pool_head_takes_the_maximum_over_positions() -> None:
    model = tokenmix.create_model("poolformer_s12", num_classes=0).eval()
    model.reset_classifier(0, global_pool="max")
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        features = model.forward_features(x)  # (2, 512, 2, 2)
        torch.testing.assert_close(model(x), model.head.norm(features.amax((2, 3))))
