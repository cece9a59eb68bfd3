"""The model API, written once in the skeleton: creation options, heads, features, configs, errors."""

from __future__ import annotations

import pytest
import torch
from timm.data import resolve_data_config

import tokenmix
from tokenmix import ConfigError, ModelCfg, UnknownNameError
from tokenmix.factory import MODELS
from tokenmix.metaformer import MetaFormer
from tokenmix.registry import Registry

SMALL = ["mixer_s32_224", "resmlp_12_224", "gmlp_ti16_224", "poolformer_s12", "poolformerv2_s12",
         "convmixer_1024_20_ks9_p14", "vit_tiny_patch16_224"]  # fmt: skip


def test_every_family_is_registered_under_timm_names() -> None:
    names = set(tokenmix.list_models())
    for expected in ["mixer_l16_224", "resmlp_big_24_224", "gmlp_b16_224", "poolformerv2_m48", "convmixer_1536_20",
                     "vit_base_patch16_224", "deit_base_patch16_224"]:  # fmt: skip
        assert expected in names
    assert tokenmix.list_models("resmlp_*_224") == [
        "resmlp_12_224",
        "resmlp_24_224",
        "resmlp_36_224",
        "resmlp_big_24_224",
    ]


def test_unknown_model_name_suggests_close_names() -> None:
    with pytest.raises(UnknownNameError, match="did you mean resmlp_12_224"):
        tokenmix.create_model("resmlp_12_225")


def test_unknown_option_is_an_error_naming_it() -> None:
    with pytest.raises(ConfigError, match=r"unknown option\(s\) \['pool_szie'\]"):
        tokenmix.create_model("poolformer_s12", pool_szie=5)


def test_bad_common_options_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="drop_path_rate must be in"):
        tokenmix.create_model("resmlp_12_224", drop_path_rate=1.5)
    with pytest.raises(ConfigError, match="img_size"):
        tokenmix.create_model("poolformer_s12", img_size=-3)


def test_registry_refuses_duplicates() -> None:
    registry: Registry[int] = Registry("thing")
    registry.register("a", 1)
    with pytest.raises(ValueError, match="already registered"):
        registry.register("a", 2)


@pytest.mark.parametrize("name", SMALL)
def test_num_classes_in_chans_and_heads(name: str) -> None:
    size = MODELS.get(name).make_cfg().img_size
    model = tokenmix.create_model(name, num_classes=7, in_chans=1).eval()
    x = torch.randn(2, 1, size, size)
    assert model(x).shape == (2, 7)
    pooled = model.forward_head(model.forward_features(x), pre_logits=True)
    assert pooled.shape == (2, model.num_features)
    model.reset_classifier(0)
    assert torch.equal(model(x), pooled)  # no classifier: forward returns the pre-logits
    model.reset_classifier(3)
    assert model(x).shape == (2, 3) and model.num_classes == 3


def test_wrong_input_is_a_clear_error() -> None:
    model = tokenmix.create_model("mixer_s32_224")
    with pytest.raises(ValueError, match=r"expected a batch of 3×224×224 images, got 1×28×28"):
        model(torch.randn(1, 1, 28, 28))
    with pytest.raises(ValueError, match=r"expected a batch of 3×H×W images"):
        tokenmix.create_model("poolformer_s12")(torch.randn(2, 1, 64, 64))


def test_resolution_free_models_take_any_size_and_token_models_do_not() -> None:
    assert not tokenmix.create_model("poolformer_s12").fixed_input_size
    assert tokenmix.create_model("poolformer_s12").eval()(torch.randn(1, 3, 96, 128)).shape == (1, 1000)
    assert tokenmix.create_model("mixer_s32_224").fixed_input_size
    assert tokenmix.create_model("vit_tiny_patch16_224").fixed_input_size
    mixer = tokenmix.create_model("mixer_s32_224", img_size=96)  # built for 96: 3x3 tokens
    assert mixer.stages[0].blocks[0].token_mixer.fc1.in_features == 9


@pytest.mark.parametrize("name", ["poolformer_s12", "mixer_s32_224", "vit_tiny_patch16_224"])
def test_forward_intermediates(name: str) -> None:
    model = tokenmix.create_model(name).eval()
    x = torch.randn(1, 3, 224, 224)
    final, feats = model.forward_intermediates(x)
    assert torch.allclose(final, model.forward_features(x), atol=1e-6)
    if name.startswith("poolformer"):
        assert [f.shape[1:] for f in feats] == [(64, 56, 56), (128, 28, 28), (320, 14, 14), (512, 7, 7)]
        assert [i["reduction"] for i in model.feature_info] == [4, 8, 16, 32]
    else:
        grid = 224 // model.stem.reduction
        assert len(feats) == model.cfg.depth and feats[-1].shape == (1, model.num_features, grid, grid)
    last2 = model.forward_intermediates(x, indices=2, intermediates_only=True, output_fmt="NLC")
    assert len(last2) == 2 and last2[-1].ndim == 3


def test_drop_path_schedules() -> None:
    linear = tokenmix.create_model("poolformer_s12", drop_path_rate=0.1)
    rates = [b.drop_path1.drop_prob for s in linear.stages for b in s.blocks if hasattr(b.drop_path1, "drop_prob")]
    assert rates == pytest.approx([0.1 * i / 11 for i in range(1, 12)])  # block 0 has rate 0: no DropPath
    constant = tokenmix.create_model("mixer_s32_224", drop_path_rate=0.1)  # timm's Mixer: same rate everywhere
    assert {b.drop_path1.drop_prob for b in constant.stages[0].blocks} == {0.1}


def test_config_round_trips_through_json_and_builds_the_same_model() -> None:
    for name in SMALL + ["caformer_s18", "repmlpnet_t224", "randformer_s12", "metaformer_ppaa_s12_224"]:
        cfg = MODELS.get(name).make_cfg()
        back = ModelCfg.from_json(cfg.to_json())
        assert back == cfg
        torch.manual_seed(0)
        a = MetaFormer(cfg)
        torch.manual_seed(0)
        b = MetaFormer(back)
        assert all(torch.equal(a.state_dict()[k], v) for k, v in b.state_dict().items())


def test_config_from_dict_rejects_unknown_fields() -> None:
    d = MODELS.get("poolformer_s12").make_cfg().to_dict()
    d["stages"][0]["depht"] = 3
    with pytest.raises(ConfigError, match="depht"):
        ModelCfg.from_dict(d)


def test_a_part_argument_typo_is_an_error() -> None:
    cfg = MODELS.get("poolformer_s12").make_cfg().replace_stages(mixer=tokenmix.part("pool", pool_szie=5))
    with pytest.raises(ConfigError, match=r"token mixer 'pool' got unknown argument\(s\) \['pool_szie'\]"):
        MetaFormer(cfg)


def test_identity_mixer_swaps_in_by_config() -> None:
    cfg = MODELS.get("poolformer_s12").make_cfg().replace_stages(mixer=tokenmix.part("identity"))
    model = MetaFormer(cfg)
    assert type(model.stages[0].blocks[0].token_mixer).__name__ == "IdentityMixer"
    assert sum(p.numel() for p in model.parameters()) == sum(
        p.numel() for p in tokenmix.create_model("poolformer_s12").parameters()
    )


def test_gmlp_gate_starts_near_identity() -> None:
    """W ~ 0 and b = 1 (gMLP paper Sec. 2.1), so each block starts as a plain MLP."""
    gate = tokenmix.create_model("gmlp_ti16_224").stages[0].blocks[0].mlp.gate
    assert gate.proj.weight.abs().max() < 1e-4 and torch.all(gate.proj.bias == 1)


def test_layer_scale_init_follows_the_variant() -> None:
    assert torch.all(tokenmix.create_model("resmlp_12_224").stages[0].blocks[0].ls1.scale == 1e-4)
    assert torch.all(tokenmix.create_model("resmlp_12_224", layer_scale=0.1).stages[0].blocks[0].ls1.scale == 0.1)
    assert torch.all(tokenmix.create_model("poolformer_s36").stages[0].blocks[0].ls1.scale == 1e-6)


def test_timm_data_config_resolves_from_our_models() -> None:
    cfg = resolve_data_config(model=tokenmix.create_model("mixer_b16_224"))
    assert cfg["input_size"] == (3, 224, 224) and cfg["mean"] == (0.5, 0.5, 0.5) and cfg["crop_pct"] == 0.875


def test_no_weight_decay_names_embeddings() -> None:
    assert tokenmix.create_model("vit_tiny_patch16_224").no_weight_decay() == {
        "stem.cls_token",
        "stem.pos_embed",
    }


def test_grad_checkpointing_gives_the_same_gradients() -> None:
    torch.manual_seed(0)
    model = tokenmix.create_model("poolformer_s12", num_classes=4, img_size=64)
    x = torch.randn(2, 3, 64, 64)
    model(x).sum().backward()
    plain = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    model.set_grad_checkpointing(True)
    model(x).sum().backward()
    assert all(torch.allclose(a, p.grad, atol=1e-6) for a, p in zip(plain, model.parameters(), strict=True))
