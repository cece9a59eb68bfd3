"""The official *merged* RepMLP-ResNet-50 files load (DingXiaoH/RepMLP before 82c0ea6: `convert.py` ->
`repmlp_model_convert`, every module's `switch_to_deploy`): each `ConvBN` a conv with bias, RepMLP's conv branches
and BNs in a biased fc3, avg-pool's BN in fc1.

References, independent of tokenmix's merge code: the key layout written out from the official modules'
construction (`official_merged_shapes`), and that conversion redone here in float64 on the official
training-form keys (`convert_like_official`: conv + BN fusion, each conv branch as the FC it equals, read off
the conv's response to every one-hot input, as the paper's Sec. 3.3 describes).
"""

from __future__ import annotations

import copy
import logging
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

import tokenmix
from tokenmix import MetaFormer
from tokenmix.checkpoint import CheckpointError, load_checkpoint
from tokenmix.convert import KEYMAPS
from tokenmix.factory import MODELS
from tokenmix.models.repmlp_resnet import repmlp_resnet50

from .helpers import max_rel_diff, randomize_
from .training import shrink

KINDS = ("light", "bottleneck")
SMALL = dict(depths=(2, 2, 2, 2), dims=(64, 128, 256, 512), img=32, partition=2, classes=10)
FULL = dict(depths=(3, 4, 6, 3), dims=(256, 512, 1024, 2048), img=224, partition=7, classes=1000)
BN_EPS = 1e-5  # nn.BatchNorm's default, which the official code keeps


def _small(kind: str, deploy: bool = False) -> tokenmix.ModelCfg:
    """Two blocks per stage, 2x2 partitions at 32 px: stage 2 (4x4 map) has a global perceptron, stage 3 none."""
    return shrink(repmlp_resnet50(kind, deploy, partition=(2, 2)), depth=2, img_size=32, dims=SMALL["dims"])


def official_merged_shapes(
    kind: str, depths: tuple[int, ...], dims: tuple[int, ...], img: int, partition: int, classes: int
) -> dict[str, tuple[int, ...]]:
    """Key -> shape of `RepMLPResNet(deploy=True).state_dict()`, from repmlp_resnet.py / repmlp_blocks.py:
    stage0 = ConvBNReLU 7x7 to 64; stage{s} blocks are BaseBlocks except the stride-1 ones of the 1/8 and 1/16
    stages (RepMLPLightBlock: mid C/8, fc3 in 4 groups; RepMLPBottleneckBlock: mid C/4, RepMLP at mid/r,
    r = 2 then 4, 8 groups); a shortcut ConvBN where channels or stride change; `linear` classifier."""
    keys: dict[str, tuple[int, ...]] = {}

    def conv_bn(name: str, c_in: int, c_out: int, k: int) -> None:  # ConvBN(deploy=True): one biased conv
        keys[f"{name}.conv.weight"], keys[f"{name}.conv.bias"] = (c_out, c_in, k, k), (c_out,)

    def repmlp(name: str, c: int, grid: int, groups: int) -> None:  # RepMLP(deploy=True), C = O = c
        n_parts = (grid // partition) ** 2
        if n_parts > 1:  # need_global_perceptron: fc1_fc2 over the pooled C x parts values
            pooled = c * n_parts
            for fc in ("fc1", "fc2"):
                keys[f"{name}.fc1_fc2.{fc}.weight"], keys[f"{name}.fc1_fc2.{fc}.bias"] = (pooled, pooled), (pooled,)
        n = c * partition * partition
        keys[f"{name}.fc3.weight"], keys[f"{name}.fc3.bias"] = (n, n // groups, 1, 1), (n,)

    conv_bn("stage0.0", 3, 64, 7)
    c_in = 64
    for s, (depth, c) in enumerate(zip(depths, dims, strict=True), start=1):
        ratio = 2 ** (s + 1)  # total downsample 4, 8, 16, 32
        for j in range(depth):
            b = f"stage{s}.{j}"
            if j == 0 or ratio not in (8, 16):
                conv_bn(b + ".conv1", c_in, c // 4, 1)
                conv_bn(b + ".conv2", c // 4, c // 4, 3)
                conv_bn(b + ".conv3", c // 4, c, 1)
                if c_in != c or (j == 0 and s > 1):  # BaseBlock: stride != 1 or in_channels != out_channels
                    conv_bn(b + ".shortcut", c_in, c, 1)
            elif kind == "light":
                conv_bn(b + ".light_conv1", c, c // 8, 1)
                repmlp(b + ".light_repmlp", c // 8, img // ratio, 4)
                conv_bn(b + ".light_conv3", c // 8, c, 1)
            else:
                mid = c // 4
                r_ch = mid // (2 if ratio == 8 else 4)
                conv_bn(b + ".btnk_conv1", c, mid, 1)
                conv_bn(b + ".btnk_conv2", mid, r_ch, 3)
                repmlp(b + ".btnk_repmlp", r_ch, img // ratio, 8)
                conv_bn(b + ".btnk_conv4", r_ch, mid, 3)
                conv_bn(b + ".btnk_conv5", mid, c, 1)
            c_in = c
    keys["linear.weight"], keys["linear.bias"] = (classes, dims[-1]), (classes,)
    return keys


def _bn(sd: dict[str, torch.Tensor], p: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Eval BatchNorm `p` as x * scale + shift."""
    scale = sd[p + ".weight"] / (sd[p + ".running_var"] + BN_EPS).sqrt()
    return scale, sd[p + ".bias"] - sd[p + ".running_mean"] * scale


def _conv_as_dense_fc(kernel: torch.Tensor, groups: int, h: int, w: int) -> torch.Tensor:
    """The (O*h*w, C*h*w) matrix of a zero-padded grouped conv on an h x w map: column i is the conv's output
    for the i-th one-hot input (channel-major flattening, as fc3 sees a partition)."""
    c = kernel.shape[1] * groups
    basis = torch.eye(c * h * w, dtype=kernel.dtype).reshape(-1, c, h, w)
    return F.conv2d(basis, kernel, padding=kernel.shape[-1] // 2, groups=groups).flatten(1).T


def _merge_repmlp(sd: dict[str, torch.Tensor], p: str, out: dict[str, torch.Tensor]) -> None:
    fc3 = sd[p + ".fc3.weight"]  # (N, N / g, 1, 1), N = C * h * w
    n, groups = fc3.shape[0], fc3.shape[0] // fc3.shape[1]
    c = sd[p + ".repconv1.conv.weight"].shape[0]
    h = w = math.isqrt(n // c)
    scale, shift = _bn(sd, p + ".fc3_bn")
    dense = torch.block_diag(*(fc3[:, :, 0, 0] * scale[:, None]).chunk(groups))  # (N, N)
    bias = shift.clone()
    for k in (1, 3, 5):
        k_scale, k_shift = _bn(sd, f"{p}.repconv{k}.bn")
        kernel = sd[f"{p}.repconv{k}.conv.weight"] * k_scale[:, None, None, None]
        dense = dense + _conv_as_dense_fc(kernel, groups, h, w)
        bias = bias + k_shift.repeat_interleave(h * w)
    blocks = [dense[g * n // groups : (g + 1) * n // groups].chunk(groups, dim=1) for g in range(groups)]
    assert all(not blocks[g][o].any() for g in range(groups) for o in range(groups) if o != g)  # still grouped
    out[p + ".fc3.weight"] = torch.cat([blocks[g][g] for g in range(groups)])[:, :, None, None]
    out[p + ".fc3.bias"] = bias
    if p + ".fc1_fc2.fc1.weight" in sd:  # avg-pool's BN, per channel, repeated over the partitions, into fc1
        a_scale, a_shift = _bn(sd, p + ".avg.bn")
        fc1, fc1_bias = sd[p + ".fc1_fc2.fc1.weight"], sd[p + ".fc1_fc2.fc1.bias"]
        per_channel = fc1.shape[1] // a_scale.shape[0]
        out[p + ".fc1_fc2.fc1.weight"] = fc1 * a_scale.repeat_interleave(per_channel)
        out[p + ".fc1_fc2.fc1.bias"] = fc1_bias + fc1 @ a_shift.repeat_interleave(per_channel)
        for t in ("weight", "bias"):
            out[f"{p}.fc1_fc2.fc2.{t}"] = sd[f"{p}.fc1_fc2.fc2.{t}"]


def convert_like_official(train: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """An official training-form state dict as `repmlp_model_convert` would save it, in float64."""
    sd = {k: v.double() for k, v in train.items() if v.is_floating_point()}
    out: dict[str, torch.Tensor] = {}
    repmlps = {k.split("_repmlp.")[0] + "_repmlp" for k in sd if "_repmlp." in k}
    for p in sorted(repmlps):
        _merge_repmlp(sd, p, out)
    for key in sd:
        if "_repmlp." in key or ".bn." in key:
            continue
        if key.endswith(".conv.weight"):  # a ConvBN: W g / s, beta - mu g / s
            unit = key.removesuffix(".conv.weight")
            scale, shift = _bn(sd, unit + ".bn")
            out[key], out[unit + ".conv.bias"] = sd[key] * scale[:, None, None, None], shift
        else:
            out[key] = sd[key]  # linear
    return out


def _trained(kind: str, seed: int) -> MetaFormer:
    return randomize_(MetaFormer(_small(kind)), seed=seed).eval()  # random weights and BN statistics


def _official_merged_file(model: MetaFormer, kind: str, path: Path, dtype: torch.dtype = torch.float32) -> Path:
    train = KEYMAPS[f"repmlp_resnet_{kind}"].to_theirs(model.state_dict())
    torch.save({k: v.to(dtype) for k, v in convert_like_official(train).items()}, path)
    return path


@pytest.mark.parametrize("kind", KINDS)
def test_reference_conversion_writes_the_official_merged_layout(kind: str) -> None:
    train = KEYMAPS[f"repmlp_resnet_{kind}"].to_theirs(_trained(kind, 0).state_dict())
    merged = convert_like_official(train)
    assert {k: tuple(v.shape) for k, v in merged.items()} == official_merged_shapes(kind, **SMALL)


@pytest.mark.parametrize("kind", KINDS)
def test_full_deploy_model_has_the_official_merged_keys_and_shapes(kind: str) -> None:
    with torch.device("meta"):
        model = tokenmix.create_model(f"repmlp_resnet50_{kind}", deploy=True)
    theirs = KEYMAPS[f"repmlp_resnet_{kind}_merged"].to_theirs(model.state_dict())
    assert {k: tuple(v.shape) for k, v in theirs.items()} == official_merged_shapes(kind, **FULL)


@pytest.mark.parametrize("kind", KINDS)
@torch.no_grad()
def test_official_merged_file_gives_the_training_form_logits(kind: str, tmp_path: Path, caplog) -> None:
    trained = _trained(kind, 1)
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    path = _official_merged_file(trained, kind, tmp_path / "deploy.pth")
    deployed = MetaFormer(_small(kind, deploy=True)).eval()
    caplog.set_level(logging.INFO, logger="tokenmix")
    load_checkpoint(deployed, path, MODELS.get(f"repmlp_resnet50_{kind}").keymaps)
    assert f"official RepMLP-Res50-{kind.title()} (merged) layout" in caplog.text
    assert max_rel_diff(trained(x), deployed(x)) <= 1e-5  # fp32 rounding
    # in float64 the merge is exact: the merged file (float64) and the training form agree to ~1e-12
    path64 = _official_merged_file(trained, kind, tmp_path / "deploy64.pth", torch.float64)
    deployed64 = MetaFormer(_small(kind, deploy=True)).double().eval()
    load_checkpoint(deployed64, path64, MODELS.get(f"repmlp_resnet50_{kind}").keymaps)
    assert max_rel_diff(copy.deepcopy(trained).double()(x.double()), deployed64(x.double())) <= 1e-10


@pytest.mark.parametrize("kind", KINDS)
@torch.no_grad()
def test_reparameterize_is_the_official_conversion(kind: str) -> None:
    """tokenmix.reparameterize (and so tokenmix.deploy) writes what `repmlp_model_convert` writes."""
    trained = copy.deepcopy(_trained(kind, 2)).double()
    expected = convert_like_official(KEYMAPS[f"repmlp_resnet_{kind}"].to_theirs(trained.state_dict()))
    merged = KEYMAPS[f"repmlp_resnet_{kind}_merged"].to_theirs(tokenmix.reparameterize(trained).state_dict())
    assert set(merged) == set(expected)
    for key, value in expected.items():
        assert torch.allclose(merged[key], value, rtol=1e-10, atol=1e-12), key


@pytest.mark.parametrize("kind", KINDS)
def test_merged_key_map_round_trips(kind: str) -> None:
    keymap = KEYMAPS[f"repmlp_resnet_{kind}_merged"]
    ours = randomize_(MetaFormer(_small(kind, deploy=True)), seed=3).state_dict()
    theirs = keymap.to_theirs(ours)
    assert {k: tuple(v.shape) for k, v in theirs.items()} == official_merged_shapes(kind, **SMALL)
    back = keymap.to_ours(theirs)
    assert set(back) == set(ours) and all(torch.equal(back[k], v) for k, v in ours.items())
    again = keymap.to_theirs(back)
    assert all(torch.equal(again[k], v) for k, v in theirs.items())


@pytest.mark.parametrize("kind", KINDS)
def test_merged_key_map_refuses_a_training_file(kind: str) -> None:
    train = KEYMAPS[f"repmlp_resnet_{kind}"].to_theirs(_trained(kind, 0).state_dict())
    with pytest.raises(KeyError, match=r"\.bn\."):
        KEYMAPS[f"repmlp_resnet_{kind}_merged"].to_ours(train)


def test_merged_file_into_the_training_form_says_build_the_deploy_form(tmp_path: Path) -> None:
    path = _official_merged_file(_trained("light", 4), "light", tmp_path / "deploy.pth")
    keymaps = MODELS.get("repmlp_resnet50_light").keymaps
    with pytest.raises(CheckpointError, match=r"RepMLP-Res50-Light \(merged\) layout.*deploy=True"):
        load_checkpoint(MetaFormer(_small("light")), path, keymaps)


def test_training_file_into_the_deploy_form_says_build_the_training_form(tmp_path: Path) -> None:
    train = KEYMAPS["repmlp_resnet_light"].to_theirs(_trained("light", 5).state_dict())
    torch.save(train, tmp_path / "train.pth")
    keymaps = MODELS.get("repmlp_resnet50_light").keymaps
    with pytest.raises(CheckpointError, match=r"RepMLP-Res50-Light layout.*deploy=False"):
        load_checkpoint(MetaFormer(_small("light", deploy=True)), tmp_path / "train.pth", keymaps)


@pytest.mark.parametrize("kind", KINDS)
@torch.no_grad()
def test_full_size_merged_file_loads_through_create_model(kind: str, tmp_path: Path) -> None:
    name = f"repmlp_resnet50_{kind}"
    ours = tokenmix.create_model(name, deploy=True)
    torch.save(KEYMAPS[f"repmlp_resnet_{kind}_merged"].to_theirs(ours.state_dict()), tmp_path / "deploy.pth")
    loaded = tokenmix.create_model(name, deploy=True, checkpoint_path=str(tmp_path / "deploy.pth"))
    assert all(torch.equal(v, loaded.state_dict()[k]) for k, v in ours.state_dict().items())
    with pytest.raises(CheckpointError, match=r"\(merged\) layout.*deploy=True"):
        tokenmix.create_model(name, checkpoint_path=str(tmp_path / "deploy.pth"))


@pytest.mark.parametrize("kind", KINDS)
@torch.no_grad()
def test_deploy_and_timm_reparameterize_give_the_deploy_form(kind: str) -> None:
    from timm.utils.model import reparameterize_model

    trained = _trained(kind, 6)
    for merged in (tokenmix.deploy(copy.deepcopy(trained), channels_last=False), reparameterize_model(trained)):
        deployed = MetaFormer(_small(kind, deploy=True)).eval()
        deployed.load_state_dict(merged.state_dict())  # strict: the same keys and shapes
        x = torch.randn(2, 3, 32, 32)
        assert torch.equal(merged(x), deployed(x))


def test_convert_takes_a_merged_release_with_the_deploy_option(tmp_path: Path, capsys) -> None:
    """`tokenmix convert --option deploy=True`: the merged file becomes tokenmix weights of the deploy form;
    without the option, one line that names deploy=True and exit code 2."""
    from safetensors.torch import load_file

    from tokenmix.cli import main

    name = "repmlp_resnet50_light"
    ours = randomize_(tokenmix.create_model(name, deploy=True), seed=7)
    torch.save(KEYMAPS["repmlp_resnet_light_merged"].to_theirs(ours.state_dict()), tmp_path / "deploy.pth")
    out = tmp_path / "light.safetensors"
    assert main(["convert", str(tmp_path / "deploy.pth"), str(out), "--model", name, "--option", "deploy=True"]) == 0
    written = load_file(str(out))
    assert written.keys() == ours.state_dict().keys()
    assert all(torch.equal(written[k], v) for k, v in ours.state_dict().items())
    capsys.readouterr()
    assert main(["convert", str(tmp_path / "deploy.pth"), str(out), "--model", name]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "deploy=True" in err
