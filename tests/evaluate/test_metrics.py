"""evaluate() sums against a float64 computation by hand, with and without mirror-image test-time augmentation."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from tokenmix.evaluate import evaluate


def _left_minus_right() -> nn.Module:
    """Class 0's logit is the left half's mean minus the right half's, class 1's the reverse: a mirrored image
    swaps the two logits, so the mirror average ties them."""
    model = nn.Sequential(nn.Flatten(), nn.Linear(16, 2, bias=False)).double()
    left = torch.zeros(1, 4, 4, dtype=torch.float64)
    left[..., :2] = 1 / 8
    with torch.no_grad():
        model[1].weight.copy_(
            torch.cat([(left - left.flip(-1)).flatten()[None], (left.flip(-1) - left).flatten()[None]])
        )
    return model


def test_hflip_averages_each_image_with_its_mirror():
    torch.manual_seed(0)
    x = torch.randn(12, 1, 4, 4, dtype=torch.float64)
    x[:, :, :, 2:] += 0.5 * torch.linspace(0, 1, 12, dtype=torch.float64)[:, None, None, None]  # brighter right
    x[:, :, :, 1] += 0.3  # break exact ties
    y = torch.tensor([0, 1] * 6)
    model = _left_minus_right()
    plain = evaluate(model, [(x[:6], y[:6]), (x[6:], y[6:])], 2, torch.device("cpu"))
    mirrored = evaluate(model, [(x, y)], 2, torch.device("cpu"), hflip=True)

    logits = model(x)
    assert plain.top1 == (logits.argmax(1) == y).sum().item()
    assert (
        abs(plain.loss_sum - F.cross_entropy(logits, y, reduction="sum").item()) < 1e-5
    )  # evaluate sums float32 logits
    averaged = (logits + model(x.flip(-1))) / 2  # independent of evaluate: the definition
    assert (
        abs(mirrored.loss_sum - F.cross_entropy(averaged, y, reduction="sum").item()) < 1e-5
    )  # evaluate sums float32 logits
    assert torch.allclose(averaged[:, 0], averaged[:, 1])  # this model's mirror average ties the classes
    assert mirrored.loss_sum != plain.loss_sum


def test_translate_averages_the_image_and_two_reflect_padded_shifts_as_airbench():
    """tta_logits against the views built by hand in numpy: the image (weight 1/2) and the image shifted one
    pixel up-left and down-right with reflected borders (1/4 each), each with its mirror image when hflip."""
    import numpy as np

    from tokenmix.evaluate.metrics import tta_logits

    torch.manual_seed(1)
    model = nn.Sequential(nn.Flatten(), nn.Linear(2 * 5 * 6, 3)).double()
    x = torch.randn(4, 2, 5, 6, dtype=torch.float64)
    a = np.pad(x.numpy(), ((0, 0), (0, 0), (1, 1), (1, 1)), mode="reflect")
    views = [x.numpy(), a[:, :, :5, :6], a[:, :, 2:, 2:]]

    def run(v):
        return model(torch.from_numpy(np.ascontiguousarray(v))).detach().numpy()

    def f(v, mirror):
        return (run(v) + run(v[..., ::-1])) / 2 if mirror else run(v)

    with torch.no_grad():
        for mirror in (False, True):
            expected = f(views[0], mirror) / 2 + f(views[1], mirror) / 4 + f(views[2], mirror) / 4
            got = tta_logits(model, x, hflip=mirror, translate=1).numpy()
            assert np.allclose(got, expected, atol=1e-12)
        assert np.allclose(tta_logits(model, x).numpy(), f(views[0], False))
