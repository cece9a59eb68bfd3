"""timm's factory, data and training helpers and its feature wrapper run tokenmix models (tokenmix.timm_compat),
checked against timm's own implementation of the same architecture with the same weights."""

from __future__ import annotations

import numpy as np
import pytest
import timm
import torch
from PIL import Image
from timm.data import create_transform, resolve_data_config
from timm.optim import create_optimizer_v2
from timm.utils import accuracy

import tokenmix
import tokenmix.timm_compat
from tokenmix.checkpoint import to_tokenmix_keys
from tokenmix.factory import MODELS


def _with_timm_weights(ours: torch.nn.Module, name: str) -> torch.nn.Module:
    """timm's model of the same architecture, its random weights copied into ours."""
    entry = MODELS.get(name)
    theirs = timm.create_model(entry.timm_name, num_classes=ours.num_classes).eval()
    ours.load_state_dict(to_tokenmix_keys(theirs.state_dict(), ours, entry.keymaps, "timm"))
    return theirs


def test_every_model_is_registered_under_its_prefix() -> None:
    assert set(timm.list_models("tokenmix_*")) == {f"tokenmix_{n}" for n in tokenmix.list_models()}
    assert not set(timm.list_models("tokenmix_*")) & set(tokenmix.list_models())  # nothing of timm's replaced


def test_timm_factory_arguments_reach_the_model() -> None:
    model = timm.create_model(
        "tokenmix_resmlp_12_224", num_classes=7, in_chans=1, drop_rate=0.2, drop_path_rate=0.1,
        global_pool="max", pretrained_cfg_overlay=dict(crop_pct=1.0), cache_dir=None,
    )  # fmt: skip
    assert model.num_classes == 7 and model.in_chans == 1 and model.cfg.drop_path_rate == 0.1
    assert model.head.drop.p == 0.2 and model.head.pool_kind == "max"
    assert resolve_data_config({}, model=model)["crop_pct"] == 1.0
    with pytest.raises(tokenmix.ConfigError, match="unknown option"):
        timm.create_model("tokenmix_resmlp_12_224", drop_block_rate=0.1)


@pytest.mark.parametrize("name", ["resmlp_12_224", "poolformer_s12"])
def test_timm_factory_model_gives_timms_logits(name: str) -> None:
    ours = timm.create_model(f"tokenmix_{name}").eval()
    theirs = _with_timm_weights(ours, name)
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x), atol=1e-5, rtol=1e-5)


def test_trains_and_evaluates_through_timms_helpers() -> None:
    model = timm.create_model("tokenmix_poolformer_s12", num_classes=4, img_size=64)
    transform = create_transform(**resolve_data_config({}, model=model), is_training=True)
    rng = np.random.default_rng(0)
    images = [Image.fromarray(rng.integers(0, 255, (80, 80, 3), dtype=np.uint8)) for _ in range(8)]
    x, y = torch.stack([transform(im) for im in images]), torch.arange(8) % 4
    assert x.shape == (8, 3, 64, 64)  # timm read the input size the model was built for
    optimizer = create_optimizer_v2(model, "adamw", lr=1e-3, weight_decay=0.05, layer_decay=0.75)
    assert len({g["lr_scale"] for g in optimizer.param_groups}) > 1  # timm's layer decay read our group_matcher
    losses = []
    for _ in range(4):
        loss = torch.nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0]
    model.eval()
    with torch.no_grad():
        logits = model(x)
    (top1,) = accuracy(logits, y, topk=(1,))
    assert top1.item() == pytest.approx(100.0 * (logits.argmax(1) == y).float().mean().item())


def test_features_only_gives_timms_stage_features() -> None:
    ours = timm.create_model("tokenmix_poolformer_s12", features_only=True)
    theirs = timm.create_model("poolformer_s12", features_only=True).eval()
    full = timm.create_model("poolformer_s12")
    trunk = {k.replace("stages.", "stages_", 1): v for k, v in full.state_dict().items() if k.startswith("st")}
    theirs.load_state_dict(trunk)  # timm's feature wrapper flattened stages.i to stages_i
    mine = to_tokenmix_keys(full.state_dict(), tokenmix.create_model("poolformer_s12"), ("metaformer",), "timm")
    assert not ours.model.load_state_dict(mine, strict=False).missing_keys
    x = torch.randn(1, 3, 96, 96)
    with torch.no_grad():
        for a, b in zip(ours.eval()(x), theirs(x), strict=True):
            torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    assert ours.feature_info.channels() == theirs.feature_info.channels() == [64, 128, 320, 512]
    assert ours.feature_info.reduction() == theirs.feature_info.reduction() == [4, 8, 16, 32]


def test_features_only_on_an_isotropic_model_takes_blocks_and_prunes_the_rest() -> None:
    wrapped = timm.create_model("tokenmix_mixer_s32_224", features_only=True, out_indices=(1, 3))
    assert len(wrapped.model.stages[0].blocks) == 4 and isinstance(wrapped.model.head.fc, torch.nn.Identity)
    assert wrapped.feature_info.module_name() == ["stages.0.blocks.1", "stages.0.blocks.3"]
    full = tokenmix.create_model("mixer_s32_224").eval()
    full.load_state_dict(wrapped.model.state_dict(), strict=False)
    taps = {}
    for i in (1, 3):
        full.stages[0].blocks[i].register_forward_hook(lambda m, a, out, i=i: taps.__setitem__(i, out))
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        feats, _ = wrapped.eval()(x), full(x)
    for f, i in zip(feats, (1, 3), strict=True):  # a hook on the unpruned model's block: (B, N, C) tokens
        torch.testing.assert_close(f, taps[i].transpose(1, 2).reshape(1, 512, 7, 7))


def test_timm_training_checkpoint_loads_through_timms_checkpoint_path(tmp_path) -> None:
    theirs = timm.create_model("resmlp_12_224", num_classes=10).eval()
    torch.save({"epoch": 1, "state_dict": theirs.state_dict()}, tmp_path / "checkpoint-1.pth.tar")  # train.py's form
    ours = timm.create_model(
        "tokenmix_resmlp_12_224", num_classes=10, checkpoint_path=tmp_path / "checkpoint-1.pth.tar"
    )
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        torch.testing.assert_close(ours.eval()(x), theirs(x), atol=1e-5, rtol=1e-5)
