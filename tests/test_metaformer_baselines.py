"""IdentityFormer, RandFormer, ConvFormer, CAFormer and the hybrid MetaFormers."""

from __future__ import annotations

import pytest
import timm
import torch

import tokenmix
from tokenmix.convert import from_timm, from_tokenmix, to_timm, to_tokenmix

from .helpers import max_rel_diff, randomize_
from .training import assert_trains, shrink


def _timm_small(name: str) -> torch.nn.Module:
    """timm's own class with the variant's arguments, at one block per stage and small widths (CPU time)."""
    from timm.models import metaformer as tm

    mixers = [tm.SepConv] * 4 if name.startswith("convformer") else [tm.SepConv] * 2 + [tm.Attention] * 2
    norms = (
        [tm.LayerNorm2dNoBias] * 4
        if name.startswith("convformer")
        else [tm.LayerNorm2dNoBias] * 2 + [tm.LayerNormNoBias] * 2
    )
    return tm.MetaFormer(depths=(1, 1, 2, 1), dims=(32, 64, 96, 128), token_mixers=mixers, norm_layers=norms).eval()


@pytest.mark.parametrize("name", ["convformer_s18", "caformer_s18"])
def test_state_dict_is_timms(name: str) -> None:
    with torch.device("meta"):
        theirs = timm.create_model(name)
        ours = tokenmix.create_model(name)
    converted = {k: tuple(v.shape) for k, v in to_timm(ours.state_dict(), "metaformer").items()}
    assert converted == {k: tuple(v.shape) for k, v in theirs.state_dict().items()}


@pytest.mark.parametrize("name", ["convformer_s18", "caformer_s18"])
def test_logits_match_timm_both_directions(name: str) -> None:
    x = torch.randn(2, 3, 64, 64)
    cfg = shrink(tokenmix.model_cfg(name), depth=(1, 1, 2, 1), img_size=64, dims=(32, 64, 96, 128))
    cfg = cfg.replace(num_classes=1000)
    ours = randomize_(tokenmix.MetaFormer(cfg).eval(), seed=1)
    theirs = _timm_small(name)
    theirs.load_state_dict(to_timm(ours.state_dict(), "metaformer"))
    with torch.no_grad():
        assert max_rel_diff(theirs(x), ours(x)) < 1e-5
    randomize_(theirs, seed=2)
    ours.load_state_dict(from_timm(theirs.state_dict(), "metaformer"))
    with torch.no_grad():
        assert max_rel_diff(theirs(x), ours(x)) < 1e-5


def test_random_mixing_is_frozen_softmax_rows() -> None:
    model = tokenmix.create_model("randformer_s12")
    mixer = model.stages[2].blocks[0].token_mixer
    R = mixer.random_matrix
    assert R.shape == (196, 196) and not any(p is R for p in model.parameters())
    assert torch.allclose(R.sum(-1), torch.ones(196)) and (R > 0).all()
    x = torch.randn(2, 196, 8)
    expected = torch.stack([R.double() @ x[b].double() for b in range(2)])  # y_b = R x_b, in float64
    assert torch.allclose(mixer(x).double(), expected, atol=1e-6)


def test_hybrid_from_mixer_list_is_the_registered_ppaa() -> None:
    from_list = tokenmix.model_cfg("metaformer", mixers=["pool", "pool", "attn", "attn"])
    assert from_list == tokenmix.model_cfg("metaformer_ppaa_s12_224")
    model = tokenmix.create_model("metaformer_ppaa_s12_224")
    assert model.stages[2].downsample.pos_embed.shape == (1, 320, 14, 14)  # before the first attention stage
    assert model.stages[3].downsample.pos_embed is None and model.fixed_input_size


def test_hybrid_rejects_unknown_mixer_with_suggestion() -> None:
    with pytest.raises(KeyError, match="did you mean"):
        tokenmix.model_cfg("metaformer", mixers="pool,pool,atention,pool")


def test_cli_info_takes_mixers(capsys) -> None:
    from tokenmix.cli import main

    assert main(["info", "metaformer", "--mixers", "pool,pool,attn,attn"]) == 0
    assert "attention" in capsys.readouterr().out


TRAIN = ["identityformer_s12", "randformer_s12", "convformer_s18", "caformer_s18", "metaformer_ppaa_s12_224"]


@pytest.mark.parametrize("name", TRAIN)
def test_small_variant_trains_on_digits(name: str) -> None:
    assert_trains(shrink(tokenmix.model_cfg(name), depth=1, img_size=32, dims=(16, 32, 32, 64)))


def test_ppaa_official_keys_round_trip() -> None:
    """Official `network`: stage, down, stage, down, AddPositionEmb, stage, down, stage; 1x1-conv MLPs."""
    with torch.device("meta"):
        sd = tokenmix.create_model("metaformer_ppaa_s12_224").state_dict()
    theirs = from_tokenmix(sd, "hybrid_ppaa")
    assert theirs["network.4.pos_embed"].shape == (1, 320, 14, 14)
    assert theirs["network.5.0.mlp.fc1.weight"].shape == (1280, 320, 1, 1)
    assert "network.5.0.token_mixer.qkv.weight" in theirs and "network.7.1.layer_scale_2" in theirs
    back = to_tokenmix(theirs, "hybrid_ppaa")
    assert set(back) == set(sd) and all(back[k].shape == sd[k].shape for k in sd)
