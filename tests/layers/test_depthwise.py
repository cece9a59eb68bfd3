"""The depthwise convolution's rewritten backward computes torch's gradients: in float64 against `nn.Conv2d`
(value, input, weight and bias gradients), in bf16 autocast within bf16's precision, and only where the rewrite
is exact (other shapes fall back to torch's own backward)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import tokenmix
from tokenmix.data.digits import load_digits_raw
from tokenmix.layers.depthwise import DepthwiseConv2d

SHAPES = [  # (channels, kernel, side, padding)
    (6, 3, 7, "same"),
    (4, 5, 8, 2),
    (3, 9, 5, "same"),  # kernel larger than the image
    (5, 7, 6, 3),
]


def _pair(channels: int, kernel: int, padding, bias: bool, dtype=torch.float64):
    ours = DepthwiseConv2d(channels, kernel, bias=bias, padding=padding).to(dtype)
    ref = nn.Conv2d(channels, channels, kernel, groups=channels, padding=padding, bias=bias).to(dtype)
    ref.load_state_dict(ours.state_dict())
    return ours, ref


def _grads(conv: nn.Module, x: torch.Tensor, g: torch.Tensor):
    x = x.clone().requires_grad_(True)
    out = conv(x)
    out.backward(g)
    params = [p.grad for p in conv.parameters()]
    return out.detach(), x.grad, params


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("channels,kernel,side,padding", SHAPES)
def test_float64_gradients_equal_torch(channels, kernel, side, padding, bias, channels_last):
    torch.manual_seed(0)
    ours, ref = _pair(channels, kernel, padding, bias)
    assert ours.fast_backward
    x = torch.randn(3, channels, side, side + 1, dtype=torch.float64)
    g = torch.randn(3, channels, side, side + 1, dtype=torch.float64)
    if channels_last:
        x, g = x.to(memory_format=torch.channels_last), g.to(memory_format=torch.channels_last)
    out, gx, gp = _grads(ours, x, g)
    out_ref, gx_ref, gp_ref = _grads(ref, x, g)
    torch.testing.assert_close(out, out_ref, rtol=0, atol=1e-12)
    torch.testing.assert_close(gx, gx_ref, rtol=0, atol=1e-12)
    assert len(gp) == len(gp_ref) == (2 if bias else 1)
    for a, b in zip(gp, gp_ref, strict=True):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-11)


def test_bf16_autocast_gradients_close_to_float64():
    torch.manual_seed(0)
    ours, ref = _pair(16, 5, "same", True, dtype=torch.float32)
    x = torch.randn(8, 16, 8, 8).to(memory_format=torch.channels_last)
    g = torch.randn(8, 16, 8, 8).to(memory_format=torch.channels_last)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, gx, gp = _grads(ours, x, g.bfloat16())
    exact = _grads(ref.double(), x.double(), g.double())
    assert out.dtype == torch.bfloat16 and gx.dtype == torch.float32 and gp[0].dtype == torch.float32
    scale = lambda t: t.abs().max().item()  # noqa: E731
    assert (out.double() - exact[0]).abs().max() < 0.02 * scale(exact[0])
    assert (gx.double() - exact[1]).abs().max() < 0.02 * scale(exact[1])
    for a, b in zip(gp, exact[2], strict=True):
        assert (a.double() - b).abs().max() < 0.02 * scale(b)


@pytest.mark.parametrize(
    "make",
    [
        lambda: DepthwiseConv2d(4, 4, padding="same"),  # even kernel: "same" pads asymmetrically
        lambda: DepthwiseConv2d(4, 3, padding=0),  # not centred
    ],
)
def test_other_shapes_use_torch_backward_and_stay_correct(make):
    conv = make().double()
    assert not conv.fast_backward
    ref = nn.Conv2d(4, 4, conv.kernel_size, groups=4, padding=conv.padding).double()
    ref.load_state_dict(conv.state_dict())
    x, g = torch.randn(2, 4, 6, 6, dtype=torch.float64), None
    out = conv(x)
    g = torch.randn_like(out)
    for a, b in zip(_grads(conv, x, g)[2], _grads(ref, x, g)[2], strict=True):
        torch.testing.assert_close(a, b)


def test_no_grad_and_inference_take_the_plain_forward():
    conv = DepthwiseConv2d(4, 3).double()
    x = torch.randn(1, 4, 5, 5, dtype=torch.float64)
    with torch.no_grad():
        out = conv(x)
    assert out.grad_fn is None
    assert type(conv(x).grad_fn).__name__.startswith("_DepthwiseConvFn")


def _train(fast: bool, bf16: bool, steps: int = 25) -> tuple[list[float], float]:
    """ConvMixer on the bundled digits: the per-step losses and the final training accuracy."""
    torch.manual_seed(0)
    model = tokenmix.create_model("convmixer_digits").to(memory_format=torch.channels_last).train()
    for conv in model.modules():
        if isinstance(conv, DepthwiseConv2d):
            conv.fast_backward = fast
    images, labels = load_digits_raw()
    x = torch.as_tensor(images[:256], dtype=torch.float32)[:, None] / 8.0 - 1.0
    x, y = x.to(memory_format=torch.channels_last), torch.as_tensor(labels[:256], dtype=torch.int64)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(steps):
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    with torch.no_grad():  # batch statistics: 25 steps leave BatchNorm's running averages far from them
        accuracy = (model(x).argmax(1) == y).float().mean().item()
    return losses, accuracy


def test_short_training_run_follows_torch_backward():
    """A short run trains the same with the rewritten backward as with torch's: step for step in fp32 (rounding
    order differs, nothing else), and to the same accuracy under bf16 autocast."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        fast, ref = _train(fast=True, bf16=False), _train(fast=False, bf16=False)
        (fast_losses, fast_acc), (ref_losses, ref_acc) = _train(True, True), _train(False, True)
    finally:
        torch.set_num_threads(threads)
    torch.testing.assert_close(torch.tensor(fast[0]), torch.tensor(ref[0]), rtol=1e-3, atol=1e-4)
    assert ref_losses[-1] < 0.5 * ref_losses[0]  # the run learns at all
    assert abs(fast_losses[-1] - ref_losses[-1]) < 0.1 * ref_losses[-1]
    assert abs(fast_acc - ref_acc) < 0.03
