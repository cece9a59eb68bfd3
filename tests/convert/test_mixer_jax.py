"""The official JAX Mixer releases (.npz of flax parameters) load. Reference: the forward of
google-research/vision_transformer `vit_jax/models_mixer.py`, transcribed here in float64 from the arrays of the
file itself (HWIO conv kernel, Dense kernels (in, out), tanh GELU, LayerNorm eps 1e-6)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

import tokenmix

C, LAYERS, PATCH, TOKENS, D_S, D_C = 512, 8, 32, 49, 256, 2048  # Mixer-S/32 (paper Table 1)


def _jax_mixer_s32(rng: np.random.Generator) -> dict[str, np.ndarray]:
    def dense(name: str, n_in: int, n_out: int) -> dict[str, np.ndarray]:
        return {f"{name}/kernel": rng.normal(0, n_in**-0.5, (n_in, n_out)), f"{name}/bias": rng.normal(0, 0.1, n_out)}

    def norm(name: str) -> dict[str, np.ndarray]:
        return {f"{name}/scale": 1 + rng.normal(0, 0.1, C), f"{name}/bias": rng.normal(0, 0.1, C)}

    p = {"stem/kernel": rng.normal(0, (3 * PATCH * PATCH) ** -0.5, (PATCH, PATCH, 3, C)), "stem/bias": np.zeros(C)}
    for i in range(LAYERS):
        b = f"MixerBlock_{i}"
        p |= norm(f"{b}/LayerNorm_0") | norm(f"{b}/LayerNorm_1")
        p |= dense(f"{b}/token_mixing/Dense_0", TOKENS, D_S) | dense(f"{b}/token_mixing/Dense_1", D_S, TOKENS)
        p |= dense(f"{b}/channel_mixing/Dense_0", C, D_C) | dense(f"{b}/channel_mixing/Dense_1", D_C, C)
    return p | norm("pre_head_layer_norm") | dense("head", C, 1000)


def _reference_forward(p: dict[str, np.ndarray], image: np.ndarray) -> np.ndarray:
    """MlpMixer.__call__ on one NHWC image, float64."""

    def gelu(x):  # flax nn.gelu (approximate=True)
        return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))

    def layer_norm(x, name):
        mu, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + 1e-6) * p[f"{name}/scale"] + p[f"{name}/bias"]

    def mlp(x, name):
        h = gelu(x @ p[f"{name}/Dense_0/kernel"] + p[f"{name}/Dense_0/bias"])
        return h @ p[f"{name}/Dense_1/kernel"] + p[f"{name}/Dense_1/bias"]

    side = image.shape[0] // PATCH
    patches = image.reshape(side, PATCH, side, PATCH, 3).transpose(0, 2, 1, 3, 4).reshape(side * side, -1)
    x = patches @ p["stem/kernel"].reshape(-1, C) + p["stem/bias"]  # (tokens, C), tokens in row-major order
    for i in range(LAYERS):
        b = f"MixerBlock_{i}"
        x = x + mlp(layer_norm(x, f"{b}/LayerNorm_0").T, f"{b}/token_mixing").T
        x = x + mlp(layer_norm(x, f"{b}/LayerNorm_1"), f"{b}/channel_mixing")
    return layer_norm(x, "pre_head_layer_norm").mean(0) @ p["head/kernel"] + p["head/bias"]


@torch.no_grad()
def test_official_jax_mixer_npz_gives_the_official_logits(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    params = _jax_mixer_s32(rng)
    np.savez(tmp_path / "Mixer-S_32.npz", **{k: v.astype(np.float32) for k, v in params.items()})
    model = tokenmix.create_model("mixer_s32_224", act="gelu_tanh", checkpoint_path=tmp_path / "Mixer-S_32.npz")
    images = rng.normal(0, 1, (2, 224, 224, 3)).astype(np.float32)
    ours = model.eval()(torch.from_numpy(images).permute(0, 3, 1, 2)).double().numpy()
    params64 = {k: v.astype(np.float32).astype(np.float64) for k, v in params.items()}
    expected = np.stack([_reference_forward(params64, image.astype(np.float64)) for image in images])
    assert np.abs(ours - expected).max() / np.abs(expected).max() < 1e-5


def test_an_npz_holding_objects_is_refused(tmp_path: Path) -> None:
    np.savez(tmp_path / "bad.npz", stem=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match="not a readable .npz of arrays"):
        tokenmix.create_model("mixer_s32_224", checkpoint_path=tmp_path / "bad.npz")


def test_an_npz_declaring_more_than_the_model_needs_is_refused_unread(tmp_path: Path) -> None:
    np.savez(tmp_path / "big.npz", stem=np.zeros((16, 1024, 1024), np.float32))  # 64 MiB for a 0.02M model
    with pytest.raises(ValueError, match="more than the .* MiB the model can need"):
        tokenmix.create_model("mixer_digits", checkpoint_path=tmp_path / "big.npz")
