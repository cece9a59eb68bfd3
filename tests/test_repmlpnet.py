"""RepMLPNet: merging the conv branches into the FC leaves eval outputs unchanged; the merged form is the
deploy config; official keys; training on digits."""

from __future__ import annotations

import torch

import tokenmix
from tokenmix import MetaFormer
from tokenmix.convert import from_tokenmix, to_tokenmix

from .helpers import max_rel_diff, randomize_
from .training import assert_trains, shrink

DIMS = (16, 32, 64, 128)  # divisible by the sharesets (1, 4, 16, 128)


def _small(name: str = "repmlpnet_t224", **options) -> tokenmix.ModelCfg:
    return shrink(tokenmix.model_cfg(name, **options), depth=1, img_size=64, dims=DIMS)


def test_reparameterize_keeps_eval_outputs() -> None:
    model = randomize_(MetaFormer(_small()), seed=3).eval()  # random weights and random BN statistics
    x = torch.randn(4, 3, 64, 64)
    with torch.no_grad():
        before = model(x)
        tokenmix.reparameterize(model)
        after = model(x)
    assert not any(k.split(".")[-2].startswith("repconv") for k in model.state_dict())
    assert max_rel_diff(before, after) <= 1e-5


def test_merged_model_is_the_deploy_config() -> None:
    merged = tokenmix.reparameterize(randomize_(MetaFormer(_small()), seed=4))
    deployed = MetaFormer(_small(deploy=True)).eval()
    deployed.load_state_dict(merged.state_dict())  # strict: same keys and shapes
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        assert torch.equal(merged(x), deployed(x))


def test_conv_branch_equals_its_fc_on_a_partition() -> None:
    mixer = MetaFormer(_small()).stages[1].blocks[0].token_mixer  # 8 x 8 grid, 4 sharesets
    kernel, bias = torch.randn(4, 1, 3, 3), torch.randn(4)
    weight, fc_bias = mixer.conv_as_fc(kernel, bias)
    x = torch.randn(5, 4, 8, 8)
    conv = torch.nn.functional.conv2d(x, kernel, bias, padding=1, groups=4)  # zero padding at the border
    fc = torch.stack([x[:, s].reshape(5, 64) @ weight[s * 64 : (s + 1) * 64].T for s in range(4)], 1)
    assert torch.allclose(fc + fc_bias.view(4, 64), conv.reshape(5, 4, 64), atol=1e-5)


def test_official_keys_round_trip() -> None:
    with torch.device("meta"):
        sd = tokenmix.create_model("repmlpnet_b224").state_dict()
    theirs = from_tokenmix(sd, "repmlpnet")
    assert {
        "embeds.0.conv.weight",
        "stages.2.11.repmlp_block.repconv3.bn.running_var",
        "head_norm.weight",
    } <= set(theirs)
    assert set(to_tokenmix(theirs, "repmlpnet")) == set(sd)


def test_small_repmlpnet_trains() -> None:
    assert_trains(shrink(tokenmix.model_cfg("repmlpnet_t224"), depth=1, img_size=32, dims=DIMS))


def test_timm_reparameterize_model_merges_our_repmlp() -> None:
    """timm's own tool (validate.py/benchmark.py --reparam) finds the `reparameterize()` methods."""
    from timm.utils.model import reparameterize_model

    model = randomize_(MetaFormer(_small()), seed=5).eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        before = model(x)
        merged = reparameterize_model(model)
        assert not any(hasattr(m, "repconv3") for m in merged.modules())
        assert max_rel_diff(before, merged(x)) <= 1e-5
