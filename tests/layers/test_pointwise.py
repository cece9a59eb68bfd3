"""PointwiseConv: the function of nn.Conv2d(kernel_size=1) in either memory format, its gradients too, checked
in float64 against torch's own convolution."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from tokenmix.layers.pointwise import PointwiseConv

CL = torch.channels_last


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(3, 8, 5, 7), (2, 1, 4, 4), (2, 6, 1, 1)])  # incl. maps in both formats at once
@pytest.mark.parametrize("fmt", [torch.contiguous_format, CL])
def test_equals_a_1x1_convolution_forward_and_backward(bias: bool, shape: tuple, fmt: torch.memory_format) -> None:
    gen = torch.Generator().manual_seed(0)
    ref = nn.Conv2d(shape[1], 12, kernel_size=1, bias=bias).double()
    ours = PointwiseConv(shape[1], 12, bias=bias).double()
    ours.load_state_dict(ref.state_dict())
    ref, ours = ref.to(memory_format=fmt), ours.to(memory_format=fmt)
    x = torch.randn(shape, generator=gen, dtype=torch.float64).contiguous(memory_format=fmt)
    xr, xo = x.clone().requires_grad_(), x.clone().requires_grad_()
    y_ref, y = ref(xr), ours(xo)
    torch.testing.assert_close(y, y_ref, rtol=1e-12, atol=1e-12)
    assert y.stride() == y_ref.stride()  # the memory format torch's convolution gives
    g = torch.randn(y.shape, generator=gen, dtype=torch.float64)
    y_ref.backward(g)
    y.backward(g)
    torch.testing.assert_close(xo.grad, xr.grad, rtol=1e-12, atol=1e-12)
    for (name, p), q in zip(ours.named_parameters(), ref.parameters(), strict=True):
        torch.testing.assert_close(p.grad, q.grad, rtol=1e-12, atol=1e-12, msg=name)


def test_keeps_the_convolution_keys_and_shapes() -> None:
    conv = nn.Conv2d(4, 6, kernel_size=1)
    ours = PointwiseConv(4, 6)
    assert {k: v.shape for k, v in ours.state_dict().items()} == {k: v.shape for k, v in conv.state_dict().items()}
    assert isinstance(copy.deepcopy(ours), nn.Conv2d)  # what the fold rules of tokenmix.deploy look for
