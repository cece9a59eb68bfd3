"""The official JAX ViT releases (.npz of flax parameters; the AugReg files share the layout) load. Reference: the
forward of google-research/vision_transformer `vit_jax/models_vit.py`, transcribed here in float64 from the arrays
of the file itself: HWIO patch kernel, per-head query/key/value kernels (D, heads, head_dim), out kernel
(heads, head_dim, D), tanh GELU, LayerNorm eps 1e-6, class token first, classifier on the class token."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

import tokenmix
from tokenmix.convert import from_tokenmix

D, DEPTH, HEADS, PATCH, TOKENS = 192, 12, 3, 16, 196  # ViT-Ti/16 (DeiT paper Table 1)
HD = D // HEADS


def _jax_vit_ti16(rng: np.random.Generator) -> dict[str, np.ndarray]:
    def dense(name: str, shape_in: tuple, shape_out: tuple) -> dict[str, np.ndarray]:
        fan_in = math.prod(shape_in)
        return {
            f"{name}/kernel": rng.normal(0, fan_in**-0.5, shape_in + shape_out),
            f"{name}/bias": rng.normal(0, 0.1, shape_out),
        }

    def norm(name: str) -> dict[str, np.ndarray]:
        return {f"{name}/scale": 1 + rng.normal(0, 0.1, D), f"{name}/bias": rng.normal(0, 0.1, D)}

    p = dense("embedding", (PATCH, PATCH, 3), (D,))
    p["cls"] = rng.normal(0, 0.5, (1, 1, D))
    p["Transformer/posembed_input/pos_embedding"] = rng.normal(0, 0.5, (1, 1 + TOKENS, D))
    for i in range(DEPTH):
        b = f"Transformer/encoderblock_{i}"
        p |= norm(f"{b}/LayerNorm_0") | norm(f"{b}/LayerNorm_2")
        for name in ("query", "key", "value"):
            p |= dense(f"{b}/MultiHeadDotProductAttention_1/{name}", (D,), (HEADS, HD))
        p |= dense(f"{b}/MultiHeadDotProductAttention_1/out", (HEADS, HD), (D,))
        p |= dense(f"{b}/MlpBlock_3/Dense_0", (D,), (4 * D,)) | dense(f"{b}/MlpBlock_3/Dense_1", (4 * D,), (D,))
    return p | norm("Transformer/encoder_norm") | dense("head", (D,), (1000,))


def _reference_forward(p: dict[str, np.ndarray], image: np.ndarray) -> np.ndarray:
    """VisionTransformer.__call__ (classifier="token") on one NHWC image, float64."""

    def gelu(x):  # flax nn.gelu (approximate=True)
        return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))

    def layer_norm(x, name):
        mu, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + 1e-6) * p[f"{name}/scale"] + p[f"{name}/bias"]

    def attention(x, name):  # flax MultiHeadDotProductAttention: q scaled by 1/sqrt(head_dim)
        q, k, v = (np.einsum("nd,dhk->hnk", x, p[f"{name}/{n}/kernel"]) + p[f"{name}/{n}/bias"][:, None]
                   for n in ("query", "key", "value"))  # fmt: skip
        logits = np.einsum("hqk,hnk->hqn", q / math.sqrt(HD), k)
        weights = np.exp(logits - logits.max(-1, keepdims=True))
        weights /= weights.sum(-1, keepdims=True)
        heads = np.einsum("hqn,hnk->qhk", weights, v)
        return np.einsum("qhk,hkd->qd", heads, p[f"{name}/out/kernel"]) + p[f"{name}/out/bias"]

    side = image.shape[0] // PATCH
    patches = image.reshape(side, PATCH, side, PATCH, 3).transpose(0, 2, 1, 3, 4).reshape(side * side, -1)
    x = patches @ p["embedding/kernel"].reshape(-1, D) + p["embedding/bias"]
    x = np.concatenate([p["cls"][0], x]) + p["Transformer/posembed_input/pos_embedding"][0]
    for i in range(DEPTH):
        b = f"Transformer/encoderblock_{i}"
        x = x + attention(layer_norm(x, f"{b}/LayerNorm_0"), f"{b}/MultiHeadDotProductAttention_1")
        mlp = f"{b}/MlpBlock_3"
        h = gelu(layer_norm(x, f"{b}/LayerNorm_2") @ p[f"{mlp}/Dense_0/kernel"] + p[f"{mlp}/Dense_0/bias"])
        x = x + h @ p[f"{mlp}/Dense_1/kernel"] + p[f"{mlp}/Dense_1/bias"]
    return layer_norm(x, "Transformer/encoder_norm")[0] @ p["head/kernel"] + p["head/bias"]


@pytest.fixture(scope="module")
def npz_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, np.ndarray]]:
    params = {k: v.astype(np.float32) for k, v in _jax_vit_ti16(np.random.default_rng(0)).items()}
    path = tmp_path_factory.mktemp("vit") / "ViT-Ti_16.npz"
    np.savez(path, **params)
    return path, params


@torch.no_grad()
def test_official_jax_vit_npz_gives_the_official_logits(npz_file) -> None:
    path, params = npz_file
    model = tokenmix.create_model("vit_tiny_patch16_224", preset="official", checkpoint_path=path).eval()
    images = np.random.default_rng(1).normal(0, 1, (2, 224, 224, 3)).astype(np.float32)
    ours = model(torch.from_numpy(images).permute(0, 3, 1, 2)).double().numpy()
    params64 = {k: v.astype(np.float64) for k, v in params.items()}
    expected = np.stack([_reference_forward(params64, image.astype(np.float64)) for image in images])
    assert np.abs(ours - expected).max() / np.abs(expected).max() < 1e-5


def test_writing_the_jax_layout_gives_back_the_file(npz_file) -> None:
    path, params = npz_file
    model = tokenmix.create_model("vit_tiny_patch16_224", checkpoint_path=path)
    back = from_tokenmix(model.state_dict(), "vit_jax_3h")
    assert set(back) == set(params)
    for key, value in params.items():
        assert tuple(back[key].shape) == value.shape, key
        np.testing.assert_array_equal(back[key].numpy(), value, err_msg=key)


def test_a_vit_npz_with_a_representation_layer_is_refused_by_name(tmp_path: Path, npz_file) -> None:
    _, params = npz_file
    np.savez(tmp_path / "in21k.npz", **params, **{"pre_logits/kernel": np.zeros((D, D), np.float32)})
    with pytest.raises(ValueError, match="pre_logits"):
        tokenmix.create_model("vit_tiny_patch16_224", checkpoint_path=tmp_path / "in21k.npz")
