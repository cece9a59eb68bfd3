"""FNet's Fourier mixer and GFNet's global filter against float64 DFTs written out here; GFNet key maps;
training on digits."""

from __future__ import annotations

import math

import torch

import tokenmix
from tokenmix.convert import from_tokenmix, to_tokenmix
from tokenmix.layers.mixers.fourier import FourierMixer, GlobalFilter

from .training import assert_trains, shrink


def dft(n: int, inverse: bool = False) -> torch.Tensor:
    """The n x n DFT matrix exp(-+2 pi i j k / n), unnormalised, complex128."""
    k = torch.arange(n, dtype=torch.float64)
    sign = 1.0 if inverse else -1.0
    return torch.exp(sign * 2j * math.pi * torch.outer(k, k) / n)


def test_fourier_mixer_is_real_part_of_dft_over_tokens_and_channels() -> None:
    x = torch.randn(2, 7, 5, dtype=torch.float64)  # (B, N, C)
    expected = (dft(7) @ x.to(torch.complex128) @ dft(5).T).real  # DFT along N (left) and C (right)
    assert torch.allclose(FourierMixer(5)(x), expected, atol=1e-10)


def test_global_filter_matches_explicit_ortho_dft() -> None:
    torch.manual_seed(0)
    H, W, C = 4, 6, 3  # even W: the Nyquist column is kept once
    mixer = GlobalFilter(C, grid=(H, W)).double()
    with torch.no_grad():
        mixer.complex_weight.normal_()
    x = torch.randn(2, H, W, C, dtype=torch.float64)
    K = torch.view_as_complex(mixer.complex_weight)  # (H, W//2+1, C)
    X = torch.einsum("kh,bhwc,lw->bklc", dft(H), x.to(torch.complex128), dft(W)) / math.sqrt(H * W)
    Y = X[:, :, : W // 2 + 1] * K  # the filter acts on the non-redundant half of the spectrum
    Z = torch.einsum("mk,bklc->bmlc", dft(H, inverse=True), Y)  # inverse along H: complex
    expected = torch.zeros_like(x)
    for n in range(W):
        for col in range(W // 2 + 1):
            weight = 1.0 if col in (0, W // 2) else 2.0  # Hermitian pairs counted twice
            phase = torch.exp(torch.tensor(2j * math.pi * col * n / W, dtype=torch.complex128))
            expected[:, :, n] += weight * (Z[:, :, col] * phase).real
    expected /= math.sqrt(H * W)
    assert torch.allclose(mixer(x), expected, atol=1e-10)


def test_gfnet_h_official_keys_round_trip() -> None:
    with torch.device("meta"):
        sd = tokenmix.create_model("gfnet_h_ti").state_dict()
    theirs = from_tokenmix(sd, "gfnet_h")
    assert {"patch_embed.0.proj.weight", "patch_embed.3.proj.weight", "pos_embed", "blocks.2.9.gamma"} <= set(theirs)
    assert theirs["blocks.0.0.filter.complex_weight"].shape == (56, 29, 64, 2)
    assert set(to_tokenmix(theirs, "gfnet_h")) == set(sd)


def test_fourier_mixer_in_any_stage_trains() -> None:
    cfg = tokenmix.model_cfg("metaformer", mixers="pool,fourier,fourier,fourier")
    assert_trains(shrink(cfg, depth=1, img_size=32, dims=(16, 32, 32, 64)))


def test_small_gfnet_trains() -> None:
    # a 2 x 2 grid: slower to start than the hierarchical models, so 16 steps (loss ~0.7x at seeds 0-2)
    assert_trains(shrink(tokenmix.model_cfg("gfnet_ti"), depth=2, img_size=32, dims=(32,)), steps=16)


def test_small_gfnet_h_trains() -> None:
    assert_trains(shrink(tokenmix.model_cfg("gfnet_h_ti"), depth=1, img_size=32, dims=(16, 32, 32, 64)))
