"""tokenmix.deploy: the inference form gives the logits of the un-fused fp32 model (to 1e-5 relative) and does
less elementwise work, for every registered model."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import tokenmix
from tokenmix.layers.blocks import Scale
from tokenmix.layers.fold import Shift
from tokenmix.layers.norms import Affine

from .helpers import max_rel_diff, randomize_


def random_model(name: str, img_size: int | None = None) -> tokenmix.MetaFormer:
    """A model with random O(1) weights, built without paying for its weight init (meta, then filled)."""
    options = {} if img_size is None else {"img_size": img_size}
    with torch.device("meta"):
        model = tokenmix.create_model(name, **options)
    model.to_empty(device="cpu")
    with torch.no_grad():  # randomize_ shifts vectors around their init: give them one (gains 1, the rest 0)
        for key, t in model.state_dict().items():
            if t.is_floating_point() and (t.ndim < 2 or t.shape[0] == 1):
                t.fill_(1.0 if key.endswith(("weight", "scale", "running_var")) else 0.0)
    return randomize_(model).eval()


def input_size(model: tokenmix.MetaFormer) -> int:
    """Fixed-size models at their own 224; the others small, to keep the suite short."""
    return model.img_size if model.fixed_input_size else 64


def elementwise_parts(model: nn.Module) -> int:
    """Per-channel affine passes left in the forward: Scale/Shift/Affine/BatchNorm and norm affines."""
    count = 0
    for m in model.modules():
        if isinstance(m, (Scale, Shift, Affine, nn.BatchNorm2d)):
            count += 1
        elif getattr(m, "weight", None) is not None and "Norm" in type(m).__name__:
            count += 1
    return count


@pytest.mark.parametrize("name", tokenmix.list_models())
@torch.no_grad()
def test_deploy_keeps_logits_and_removes_work(name: str) -> None:
    model = random_model(name)
    size = input_size(model)
    x = torch.randn(1, model.in_chans, size, size, generator=torch.Generator().manual_seed(1))
    reference = model(x)  # the un-fused fp32 model, before deploy rewrites it in place
    before = elementwise_parts(model)
    deployed = tokenmix.deploy(model)
    assert elementwise_parts(deployed) < before
    error = max_rel_diff(reference, deployed(x))
    if error <= 1e-5:
        return
    # Random weights make some deep nets ill-conditioned (RepMLPNet's logits reach 1e7, where fp32 itself is
    # off by 1e-4). Then: the merge algebra must be exact in float64, and the fp32 deployed model no further
    # from the float64 truth than 30x the un-fused fp32 model's own error (fp32 rounding there depends on the
    # thread count earlier tests leave set: 14x was seen for RepMLPNet-T224).
    model64 = random_model(name).double()  # the same random weights (fixed seed), in float64
    exact = model64(x.double())
    assert max_rel_diff(exact, tokenmix.deploy(model64)(x.double())) <= 1e-9
    assert error <= 30 * max_rel_diff(exact, reference.double())


@torch.no_grad()
def test_deploy_twice_is_a_no_op() -> None:
    model = tokenmix.deploy(random_model("poolformerv2_s12"))
    state = {k: v.clone() for k, v in model.state_dict().items()}
    assert model.deploy() is model
    assert all(torch.equal(state[k], v) for k, v in model.state_dict().items())


@pytest.mark.parametrize("name", ["poolformer_s12", "convmixer_768_32"])
def test_conv_models_deploy_to_channels_last(name: str) -> None:
    model = tokenmix.deploy(random_model(name))
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert all(c.weight.is_contiguous(memory_format=torch.channels_last) for c in convs)


@torch.no_grad()
def test_convmixer_relu_with_negative_batchnorm_scale_keeps_logits() -> None:
    """A negative BN scale cannot pass through ReLU: that block keeps an explicit scale."""
    model = random_model("convmixer_768_32", img_size=32)
    model.stages[0].blocks[3].norm1.weight[:5] = -0.7
    model.stages[0].blocks[5].norm2.weight[:5] = -1.3
    x = torch.randn(2, 3, 32, 32)
    reference = model(x)
    assert max_rel_diff(reference, tokenmix.deploy(model)(x)) <= 1e-5
