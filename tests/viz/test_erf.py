"""The effective receptive field against answers known in closed form."""

import torch

from tokenmix import create_model
from tokenmix.layers.mixers.pooling import Pooling
from tokenmix.viz.erf import effective_receptive_field, model_erf


def _window(size: int, k: int) -> torch.Tensor:
    mask = torch.zeros(size, size, dtype=torch.bool)
    lo = size // 2 - k // 2
    mask[lo : lo + k, lo : lo + k] = True
    return mask


def test_erf_of_one_average_pool_is_exactly_its_window():
    for k in (3, 5):
        pool = Pooling(dim=2, pool_size=k, subtract_input=False)
        erf = effective_receptive_field(pool, torch.randn(4, 2, 9, 9))
        # centre output = mean of the k x k window: gradient 1/k^2 inside, 0 outside (per input channel)
        expected = torch.where(_window(9, k), torch.tensor(1.0 / k**2), torch.tensor(0.0))
        torch.testing.assert_close(erf, expected, rtol=0, atol=1e-7)


def test_erf_of_poolformers_pool_minus_input_is_its_window_with_the_centre_reduced():
    pool = Pooling(dim=3, pool_size=3)  # avgpool(x) - x: d/dx_centre = 1/9 - 1
    erf = effective_receptive_field(pool, torch.randn(2, 3, 7, 7))
    expected = torch.where(_window(7, 3), torch.tensor(1 / 9), torch.tensor(0.0))
    expected[3, 3] = 8 / 9
    torch.testing.assert_close(erf, expected, rtol=0, atol=1e-7)


def test_erf_of_a_model_grows_with_a_local_mixer_and_covers_the_image_with_a_global_one():
    torch.manual_seed(0)
    images = torch.randn(4, 1, 8, 8)
    opts = dict(img_size=8, in_chans=1, num_classes=10, dim=16, depth=1, patch_size=1)
    local = model_erf(create_model("metaformer_isotropic", mixers="pool", **opts), images)
    global_ = model_erf(create_model("metaformer_isotropic", mixers="token_mlp", **opts), images)
    assert local.shape == global_.shape == (8, 8)
    # one pooling block, patch 1: the centre output depends on its 3 x 3 window only
    assert (local[~_window(8, 3)] == 0).all() and (local[_window(8, 3)] > 0).all()
    assert (global_ > 0).all()  # a token MLP reaches every pixel
