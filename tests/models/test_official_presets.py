"""preset="official": each family's official construction, init and default regularisation.

The expected values are written here from the official sources (commits in the family files), not read from
tokenmix: the drop-path rates of the README / script train commands with each repository's own per-block formula,
and the init statistics each official `_init_weights` prescribes.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from tokenmix import create_model
from tokenmix.config import ConfigError
from tokenmix.counting import meta_model
from tokenmix.factory import model_cfg
from tokenmix.layers.drop import DropPath


def block_rates(model: nn.Module) -> list[float]:
    """The drop-path rate of every block, in order (0 where a block has none)."""
    rates = []
    for stage in model.stages:
        for block in stage.blocks:
            drops = [m.drop_prob for m in block.modules() if isinstance(m, DropPath)]
            rates.append(drops[0] if drops else 0.0)
    return rates


def official_rates(name: str, **options) -> list[float]:
    return block_rates(meta_model(model_cfg(name, preset="official", **options)))


def linspace(rate: float, depth: int) -> list[float]:
    """`[x.item() for x in torch.linspace(0, drop_path_rate, depth)]` (DeiT, lukemelas, sail-sg/metaformer); the
    PoolFormer / CycleMLP / ViP `rate * (block_idx + sum(layers[:index])) / (sum(layers) - 1)` is the same list."""
    return [x.item() for x in torch.linspace(0, rate, depth)]


# --- drop path --------------------------------------------------------------------------------------------------

POOLFORMER_README = {"s12": 0.1, "s24": 0.1, "s36": 0.2, "m36": 0.3, "m48": 0.4}  # sail-sg/poolformer README "Train"
DEPTHS = {"s12": 12, "s24": 24, "s36": 36, "m36": 36, "m48": 48}


@pytest.mark.parametrize("size", list(POOLFORMER_README))
def test_poolformer_v1_and_v2_drop_path_follow_the_official_train_commands(size: str) -> None:
    expected = linspace(POOLFORMER_README[size], DEPTHS[size])
    assert official_rates(f"poolformer_{size}") == pytest.approx(expected, abs=1e-7)
    assert official_rates(f"poolformerv2_{size}") == pytest.approx(expected, abs=1e-7)
    assert block_rates(meta_model(model_cfg(f"poolformer_{size}"))) == [0.0] * DEPTHS[size]  # the timm default


# scripts/<family>/train_<model>.sh of sail-sg/metaformer: (--drop-path, --head-dropout)
METAFORMER_SCRIPTS = {
    "identityformer_s12": (0.1, None),
    "identityformer_m48": (0.4, None),
    "randformer_s36": (0.2, None),
    "randformer_m48": (0.3, None),
    "convformer_s18": (0.2, 0.0),
    "convformer_b36": (0.6, 0.0),
    "caformer_s18": (0.15, 0.0),
    "caformer_s36": (0.3, 0.4),
    "caformer_m36": (0.4, 0.4),
    "caformer_b36": (0.6, 0.5),
}


@pytest.mark.parametrize("name", list(METAFORMER_SCRIPTS))
def test_metaformer_baselines_follow_their_training_scripts(name: str) -> None:
    drop_path, head_dropout = METAFORMER_SCRIPTS[name]
    model = meta_model(model_cfg(name, preset="official"))
    assert block_rates(model) == pytest.approx(linspace(drop_path, len(block_rates(model))), abs=1e-7)
    if head_dropout is not None:  # the official MlpHead: fc1 -> act -> norm (nn.LayerNorm, eps 1e-5) -> dropout -> fc2
        assert model.head.fc.drop.p == head_dropout
        assert model.head.fc.norm.eps == 1e-5
        assert model.head.drop.p == 0.0  # no dropout before the MLP head in the official forward


def test_convformer_head_eps_is_timms_by_default_and_official_with_the_preset() -> None:
    assert meta_model(model_cfg("convformer_s18")).head.fc.norm.eps == 1e-6
    assert meta_model(model_cfg("convformer_s18", head_norm_eps=1e-5)).head.fc.norm.eps == 1e-5


@pytest.mark.parametrize("name", ["cyclemlp_b1", "cyclemlp_b5", "vip_s7"])
def test_cyclemlp_and_vip_s7_drop_path_0_1(name: str) -> None:
    """CycleMLP main.py `--drop-path` default 0.1 (README command keeps it); ViP README command `--drop-path 0.1`."""
    rates = official_rates(name)
    assert rates == pytest.approx(linspace(0.1, len(rates)), abs=1e-7)


def test_ffonly_drop_path_is_deits_default_over_linspace() -> None:
    assert official_rates("ffonly_tiny_patch16_224") == pytest.approx(linspace(0.1, 12), abs=1e-7)


@pytest.mark.parametrize("name,depth", [("resmlp_12_224", 12), ("resmlp_36_224", 36)])
def test_resmlp_drop_path_is_constant_as_in_resmlp_models_py(name: str, depth: int) -> None:
    """resmlp_models.py: `dpr = [drop_path_rate for i in range(depth)]`."""
    assert official_rates(name, drop_path_rate=0.1) == pytest.approx([0.1] * depth)


def test_options_given_beside_the_preset_win() -> None:
    assert official_rates("poolformer_s12", drop_path_rate=0.05)[-1] == pytest.approx(0.05)
    assert model_cfg("poolformer_s12", preset="official", head="timm").head == model_cfg("poolformer_s12").head


def test_unknown_preset_or_a_model_without_one_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="preset must be one of official"):
        model_cfg("poolformer_s12", preset="paper")
    with pytest.raises(ConfigError, match="gfnet_xs has no official preset"):
        model_cfg("gfnet_xs", preset="official")


# --- construction and init --------------------------------------------------------------------------------------


def torch_default_bound(conv: nn.Conv2d | nn.Linear) -> float:
    """kaiming_uniform_(a=sqrt(5)): U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    return 1 / math.sqrt(conv.weight[0].numel())


def assert_torch_default(conv: nn.Conv2d | nn.Linear) -> None:
    bound, w = torch_default_bound(conv), conv.weight.detach()
    assert w.abs().max() <= bound
    assert w.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.1)


def assert_trunc_normal_002(w: torch.Tensor) -> None:
    w = w.detach()
    assert w.std().item() == pytest.approx(0.02, rel=0.05)
    assert w.abs().max() <= 2.0  # timm's trunc_normal_ cuts at +-2 absolute


def test_poolformer_v1_official_keeps_torch_default_stem_and_downsample_convs() -> None:
    """poolformer.py: `cls_init_weights` touches nn.Linear only; Mlp._init_weights its own 1x1 convs."""
    torch.manual_seed(0)
    model = create_model("poolformer_s12", preset="official")
    assert_torch_default(model.stem.conv)
    convs = [m for stage in model.stages[1:] for m in stage.downsample.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 3
    for conv in convs:
        assert_torch_default(conv)
    fc1 = model.stages[3].blocks[0].mlp.fc1
    assert isinstance(fc1, nn.Conv2d)
    assert_trunc_normal_002(fc1.weight)
    assert_trunc_normal_002(model.head.fc.weight)
    assert type(model.head.norm) is nn.Identity  # the official head: GroupNorm(1) on the map, then average
    timm_like = create_model("poolformer_s12")
    assert_trunc_normal_002(timm_like.stem.conv.weight)


def test_hybrid_official_keeps_torch_default_stem_and_inits_attention_linears() -> None:
    torch.manual_seed(0)
    model = create_model("metaformer_pppa_s12_224", preset="official")
    assert_torch_default(model.stem.conv)
    linears = [m for m in model.stages[3].modules() if isinstance(m, nn.Linear)]
    assert linears
    assert_trunc_normal_002(torch.cat([m.weight.flatten() for m in linears]))


def test_ffonly_official_class_token_is_trunc_normal_002() -> None:
    """vision_transformer_linear.py: `trunc_normal_(self.cls_token, std=.02)`; timm's ViT: normal(std=1e-6)."""
    torch.manual_seed(0)
    stem = create_model("ffonly_tiny_patch16_224", preset="official").stem
    samples = []
    for _ in range(20):  # 20 x 192 values: the std estimate's sampling error is about 0.02 / sqrt(2 * 3840)
        stem.init_weights()
        samples.append(stem.cls_token.detach().flatten())
    assert torch.cat(samples).std().item() == pytest.approx(0.02, rel=0.05)
    default = create_model("ffonly_tiny_patch16_224").stem.cls_token
    assert default.std().item() == pytest.approx(1e-6, rel=0.3)


def test_resmlp_official_init_and_layer_scale() -> None:
    """resmlp_models.py: trunc_normal(0.02) Linears, PyTorch's default patch conv, resmlp_12 `init_scale=0.1`."""
    torch.manual_seed(0)
    model = create_model("resmlp_12_224", preset="official")
    linears = [m for m in model.stages.modules() if isinstance(m, nn.Linear)]
    assert_trunc_normal_002(torch.cat([m.weight.flatten() for m in linears]))
    assert all(m.bias.abs().max() == 0 for m in linears if m.bias is not None)
    assert_torch_default(model.stem.proj)
    scales = [p for n, p in model.named_parameters() if n.endswith(("ls1.scale", "ls2.scale"))]
    assert len(scales) == 24 and all(torch.all(p == 0.1) for p in scales)


def test_repmlp_resnet_official_fc3_is_orthogonal() -> None:
    """repmlp.py: `nn.init.orthogonal_(self.fc3.weight)` on the grouped 1x1 conv (out, in/groups, 1, 1): more rows
    than columns, so its columns are orthonormal (W^T W = I), as torch.nn.init.orthogonal_ defines."""
    torch.manual_seed(0)
    model = create_model("repmlp_resnet50_light", preset="official")
    fc3s = [m for n, m in model.named_modules() if n.endswith("fc3")]
    assert len(fc3s) == 8  # the RepMLP blocks of stages 2 and 3: 4 + 6 blocks, less the two stride-2 ones
    for fc3 in fc3s:
        w = fc3.weight.detach().flatten(1).double()
        assert w.shape[0] == 4 * w.shape[1]  # fc3_groups=4
        torch.testing.assert_close(w.T @ w, torch.eye(w.shape[1], dtype=torch.float64), atol=1e-5, rtol=0)
    default = [m for n, m in create_model("repmlp_resnet50_light").named_modules() if n.endswith("fc3")][0]
    w = default.weight.detach().flatten(1)
    # PyTorch's default U(+-1/sqrt(fan_in)): squared column norm fan_out / (3 fan_in) = 4/3, not 1
    assert (w.T @ w).diagonal().mean().item() == pytest.approx(4 / 3, rel=0.05)


# --- families whose default already is the official configuration (so no preset) -------------------------------

# main_gfnet.py: each arch's own drop_path_rate (Ti / XS pass none: GFNet's default 0), linear over all blocks
GFNET_MAIN = {
    "gfnet_ti": (0.0, 12),
    "gfnet_xs": (0.0, 12),
    "gfnet_s": (0.15, 19),
    "gfnet_b": (0.25, 19),
    "gfnet_h_ti": (0.1, 19),
    "gfnet_h_s": (0.2, 19),
    "gfnet_h_b": (0.4, 36),
}
SMLPNET_REGISTRY = {"smlpnet_t": (0.0, 26), "smlpnet_s": (0.2, 38), "smlpnet_b": (0.3, 38)}  # SPACH dp_rate
NO_DROP_PATH = ["repmlpnet_t224", "repmlpnet_l256", "convmixer_1536_20", "convmixer_768_32"]  # none in the code


@pytest.mark.parametrize("name", ["gfnet_xs", "gfnet_h_b", "smlpnet_s", "repmlpnet_b224", "convmixer_768_32"])
def test_families_whose_default_is_official_have_no_preset(name: str) -> None:
    with pytest.raises(ConfigError, match=f"{name} has no official preset"):
        model_cfg(name, preset="official")


@pytest.mark.parametrize("name", list(GFNET_MAIN))
def test_gfnet_default_drop_path_is_main_gfnet_pys(name: str) -> None:
    """main_gfnet.py never passes `--drop-path` to the model, so its per-arch constructor rates are the rates."""
    rate, depth = GFNET_MAIN[name]
    assert block_rates(meta_model(model_cfg(name))) == pytest.approx(linspace(rate, depth), abs=1e-7)


@pytest.mark.parametrize("name", list(SMLPNET_REGISTRY))
def test_smlpnet_default_drop_path_is_spachs_on_both_residuals(name: str) -> None:
    """registry.py's dp_rate, `dp_rate * block / (blocks - 1)`, one DropPath for token and channel mixing."""
    rate, depth = SMLPNET_REGISTRY[name]
    blocks = [block for stage in meta_model(model_cfg(name)).stages for block in stage.blocks]
    expected = [rate * i / (depth - 1) for i in range(depth)]
    got = [[m.drop_prob for m in block.modules() if isinstance(m, DropPath)] for block in blocks]
    assert got == [[r, r] if r > 0 else [] for r in expected]


@pytest.mark.parametrize("name", NO_DROP_PATH)
def test_repmlpnet_and_convmixer_have_no_drop_path_as_in_their_code(name: str) -> None:
    model = meta_model(model_cfg(name))
    assert not [m for m in model.modules() if isinstance(m, DropPath)]
    assert model.head.drop.p == 0.0


def test_gfnet_default_init_is_gfnet_pys() -> None:
    """gfnet.py: trunc_normal(0.02) Linears with zero bias and position embedding, filters randn * 0.02 (not
    truncated), PyTorch's default patch and downsampling convs; GFNet-H's LayerScale `init_values` 1e-3 for H-Ti."""
    torch.manual_seed(0)
    model = create_model("gfnet_h_ti")
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert_trunc_normal_002(torch.cat([m.weight.flatten() for m in linears]))
    assert all(m.bias.abs().max() == 0 for m in linears)
    assert_trunc_normal_002(model.stem.pos_embed)
    filters = torch.cat([m.token_mixer.complex_weight.detach().flatten() for s in model.stages for m in s.blocks])
    assert filters.std().item() == pytest.approx(0.02, rel=0.02)
    assert filters.abs().max() > 0.08  # beyond 4 std: a normal, not one truncated at 2 std
    assert_torch_default(model.stem.proj)
    for stage in model.stages[1:]:
        assert_torch_default(stage.downsample.conv)
    scales = [p for n, p in model.named_parameters() if n.endswith("ls2.scale")]
    assert len(scales) == 19 and all(torch.all(p == 1e-3) for p in scales)


@pytest.mark.parametrize("name", ["smlpnet_t", "repmlpnet_t224", "convmixer_768_32"])
def test_smlpnet_repmlpnet_convmixer_keep_pytorchs_default_init(name: str) -> None:
    """None of smlp.py, repmlpnet.py, convmixer.py has init code: every Linear and conv keeps PyTorch's
    U(+-1/sqrt(fan_in)) (for RepMLPNet's fc3 too: the orthogonal init is RepMLP v1's only)."""
    torch.manual_seed(0)
    layers = [m for m in create_model(name).modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    assert len(layers) > 10
    for layer in layers:
        if layer.weight.numel() >= 1000:  # enough values for the std estimate
            assert_torch_default(layer)
