"""big_vision's own ViT files (.npz of flax parameters) load. Reference: the forward of google-research/big_vision
`big_vision/models/vit.py` (`_Model`, `Encoder1DBlock`, `MlpBlock`), transcribed here in float64 from the arrays
of the file itself: HWIO patch kernel, the position embedding added to the patch tokens *before* the class token
is prepended (pool_type="tok") or no class token and the mean of the normed tokens (pool_type="gap"), per-head
query/key/value kernels (D, heads, head_dim), out kernel (heads, head_dim, D), tanh GELU, LayerNorm eps 1e-6.

A ViT-Ti/16 at 48 px (a 3x3 token grid) for 10 classes keeps every file small and the test in seconds."""

from __future__ import annotations

import logging
import math
from pathlib import Path

import numpy as np
import pytest
import torch

import tokenmix
from tokenmix.convert import from_tokenmix

from ..helpers import randomize_

D, DEPTH, HEADS, PATCH, SIDE, CLASSES = 192, 12, 3, 16, 3, 10  # ViT-Ti/16 (DeiT paper Table 1), 48 px
HD, IMG = D // HEADS, PATCH * SIDE
MODEL, KEYMAP = "vit_tiny_patch16_224", "vit_big_vision_3h"
OPTIONS = dict(preset="official", img_size=IMG, num_classes=CLASSES)  # official: flax's tanh GELU
POOL = {"tok": "token", "gap": "avg"}  # their pool_type -> our pool option


def _big_vision_vit_ti16(rng: np.random.Generator, pool_type: str) -> dict[str, np.ndarray]:
    """Their parameter tree, flattened to '/'-joined names as their utils.tree_flatten_with_names writes it."""

    def dense(name: str, shape_in: tuple, shape_out: tuple) -> dict[str, np.ndarray]:
        return {
            f"{name}/kernel": rng.normal(0, math.prod(shape_in) ** -0.5, shape_in + shape_out),
            f"{name}/bias": rng.normal(0, 0.1, shape_out),
        }

    def norm(name: str) -> dict[str, np.ndarray]:
        return {f"{name}/scale": 1 + rng.normal(0, 0.1, D), f"{name}/bias": rng.normal(0, 0.1, D)}

    p = dense("embedding", (PATCH, PATCH, 3), (D,))
    p["pos_embedding"] = rng.normal(0, 0.5, (1, SIDE * SIDE, D))
    if pool_type == "tok":
        p["cls"] = rng.normal(0, 0.5, (1, 1, D))
    for i in range(DEPTH):
        b = f"Transformer/encoderblock_{i}"
        p |= norm(f"{b}/LayerNorm_0") | norm(f"{b}/LayerNorm_1")
        for name in ("query", "key", "value"):
            p |= dense(f"{b}/MultiHeadDotProductAttention_0/{name}", (D,), (HEADS, HD))
        p |= dense(f"{b}/MultiHeadDotProductAttention_0/out", (HEADS, HD), (D,))
        p |= dense(f"{b}/MlpBlock_0/Dense_0", (D,), (4 * D,)) | dense(f"{b}/MlpBlock_0/Dense_1", (4 * D,), (D,))
    p = p | norm("Transformer/encoder_norm") | dense("head", (D,), (CLASSES,))
    return {k: v.astype(np.float32) for k, v in p.items()}


def _reference_forward(p: dict[str, np.ndarray], image: np.ndarray, pool_type: str) -> np.ndarray:
    """_Model.__call__ (posemb="learn", no rep_size) on one NHWC image, float64."""

    def gelu(x):  # flax nn.gelu (approximate=True)
        return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))

    def layer_norm(x, name):  # flax nn.LayerNorm: epsilon 1e-6
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

    patches = image.reshape(SIDE, PATCH, SIDE, PATCH, 3).transpose(0, 2, 1, 3, 4).reshape(SIDE * SIDE, -1)
    x = patches @ p["embedding/kernel"].reshape(-1, D) + p["embedding/bias"] + p["pos_embedding"][0]
    if pool_type == "tok":  # after the position embedding: the class token has none
        x = np.concatenate([p["cls"][0], x])
    for i in range(DEPTH):
        b = f"Transformer/encoderblock_{i}"
        x = x + attention(layer_norm(x, f"{b}/LayerNorm_0"), f"{b}/MultiHeadDotProductAttention_0")
        mlp = f"{b}/MlpBlock_0"
        h = gelu(layer_norm(x, f"{b}/LayerNorm_1") @ p[f"{mlp}/Dense_0/kernel"] + p[f"{mlp}/Dense_0/bias"])
        x = x + h @ p[f"{mlp}/Dense_1/kernel"] + p[f"{mlp}/Dense_1/bias"]
    x = layer_norm(x, "Transformer/encoder_norm")
    pooled = x[0] if pool_type == "tok" else x.mean(0)
    return pooled @ p["head/kernel"] + p["head/bias"]


@pytest.fixture(scope="module", params=["tok", "gap"])
def npz_file(request, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, np.ndarray], str]:
    pool_type = request.param
    params = _big_vision_vit_ti16(np.random.default_rng(0), pool_type)
    path = tmp_path_factory.mktemp("big_vision") / f"vit_ti16_{pool_type}.npz"
    np.savez(path, **params)
    return path, params, pool_type


def _load(path: Path, pool_type: str) -> tokenmix.MetaFormer:
    return tokenmix.create_model(MODEL, checkpoint_path=path, pool=POOL[pool_type], **OPTIONS).eval()


@torch.no_grad()
def test_big_vision_vit_npz_gives_big_vision_logits(npz_file, caplog: pytest.LogCaptureFixture) -> None:
    path, params, pool_type = npz_file
    with caplog.at_level(logging.INFO, logger="tokenmix"):
        model = _load(path, pool_type)
    assert "keys in the big_vision ViT (.npz, 3 heads) layout" in caplog.text
    images = np.random.default_rng(1).normal(0, 1, (2, IMG, IMG, 3)).astype(np.float32)
    ours = model(torch.from_numpy(images).permute(0, 3, 1, 2)).double().numpy()
    params64 = {k: v.astype(np.float64) for k, v in params.items()}
    expected = np.stack([_reference_forward(params64, image.astype(np.float64), pool_type) for image in images])
    assert np.abs(ours - expected).max() / np.abs(expected).max() < 1e-5


def test_writing_the_big_vision_layout_gives_back_the_file(npz_file) -> None:
    path, params, pool_type = npz_file
    back = from_tokenmix(_load(path, pool_type).state_dict(), KEYMAP)
    assert set(back) == set(params)
    for key, value in params.items():
        assert tuple(back[key].shape) == value.shape, key
        np.testing.assert_array_equal(back[key].numpy(), value, err_msg=key)


@torch.no_grad()
def test_ours_to_big_vision_and_back_folds_the_class_slot_into_cls_and_keeps_the_logits(tmp_path: Path) -> None:
    """Their class token has no position embedding: ours's row 0 is added into `cls` (the class token only ever
    enters as cls + row 0), so the logits are bit-identical and every other tensor comes back unchanged."""
    ours = randomize_(tokenmix.create_model(MODEL, **OPTIONS)).eval()
    theirs = from_tokenmix(ours.state_dict(), KEYMAP)
    assert theirs["pos_embedding"].shape == (1, SIDE * SIDE, D)
    np.savez(tmp_path / "theirs.npz", **{k: v.numpy() for k, v in theirs.items()})
    back = _load(tmp_path / "theirs.npz", "tok")
    x = torch.randn(2, 3, IMG, IMG)
    assert torch.equal(ours(x), back(x))
    sd, back_sd = ours.state_dict(), back.state_dict()
    assert torch.equal(back_sd["stem.cls_token"], sd["stem.cls_token"] + sd["stem.pos_embed"][:, :1])
    assert not back_sd["stem.pos_embed"][:, 0].any()
    assert torch.equal(back_sd["stem.pos_embed"][:, 1:], sd["stem.pos_embed"][:, 1:])
    assert all(torch.equal(v, back_sd[k]) for k, v in sd.items() if k not in ("stem.cls_token", "stem.pos_embed"))


def _bfloat16_as_numpy_saves_it(t: torch.Tensor) -> np.ndarray:  # numpy has no bfloat16: 2-byte void
    return t.to(torch.bfloat16).view(torch.int16).numpy().view("V2")


def test_a_scanned_training_checkpoint_loads_as_the_plain_file(tmp_path: Path, npz_file) -> None:
    """`params/` beside the optimizer state (Adam moments in bfloat16, as their configs keep mu), and a scan=True
    model's one `Transformer/encoderblock` whose arrays stack the blocks on a leading axis."""
    path, params, pool_type = npz_file
    block = "Transformer/encoderblock_{}/"
    scanned = {k: v for k, v in params.items() if not k.startswith("Transformer/encoderblock_")}
    for key in (k.removeprefix(block.format(0)) for k in params if k.startswith(block.format(0))):
        scanned[f"Transformer/encoderblock/{key}"] = np.stack([params[block.format(i) + key] for i in range(DEPTH)])
    moments = {f"opt/0/mu/{k}": _bfloat16_as_numpy_saves_it(torch.from_numpy(v)) for k, v in scanned.items()}
    np.savez(tmp_path / "checkpoint.npz", **{f"params/{k}": v for k, v in scanned.items()}, **moments)
    plain, trained = _load(path, pool_type).state_dict(), _load(tmp_path / "checkpoint.npz", pool_type).state_dict()
    assert all(torch.equal(v, trained[k]) for k, v in plain.items())


def test_a_big_vision_file_of_another_pool_type_names_the_option(npz_file) -> None:
    path, _, pool_type = npz_file
    other = {"tok": "gap", "gap": "tok"}[pool_type]
    with pytest.raises(ValueError, match=r"big_vision ViT \(\.npz, 3 heads\) layout.*pool='avg'"):
        _load(path, other)


_UNBUILT = {
    "MAP head": ({"MAPHead_0/probe": (1, 1, D), "MAPHead_0/LayerNorm_0/scale": (D,)}, (), "a MAP head"),
    "pre_logits": ({"pre_logits/kernel": (D, D), "pre_logits/bias": (D,)}, (), "a pre_logits layer"),
    "sincos2d": ({}, ("pos_embedding",), "posemb='sincos2d'"),
}


@pytest.mark.parametrize("variant", list(_UNBUILT))
def test_big_vision_variants_our_vit_does_not_build_are_refused_by_name(tmp_path: Path, npz_file, variant) -> None:
    _, params, pool_type = npz_file
    extra, dropped, said = _UNBUILT[variant]
    arrays = {k: v for k, v in params.items() if k not in dropped} | {
        k: np.zeros(s, np.float32) for k, s in extra.items()
    }
    np.savez(tmp_path / f"{variant}.npz", **arrays)
    with pytest.raises(ValueError, match=rf"big_vision ViT \.npz has {said}.*tokenmix's ViT does not build"):
        _load(tmp_path / f"{variant}.npz", pool_type)
