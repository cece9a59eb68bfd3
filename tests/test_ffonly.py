"""The feed-forward-only ViT: block order and token-axis norm, checked against a float64 loop written here."""

from __future__ import annotations

import torch
import torch.nn.functional as F

import tokenmix
from tokenmix import MetaFormer

from .helpers import randomize_
from .training import assert_trains, shrink


def test_block_is_channel_mlp_then_token_mlp_over_all_tokens() -> None:
    cfg = shrink(tokenmix.model_cfg("ffonly_tiny_patch16_224"), depth=1, img_size=32, dims=(16,))
    model = randomize_(MetaFormer(cfg)).double().eval()
    block = model.stages[0].blocks[0]
    x = torch.randn(2, 5, 16, dtype=torch.float64)  # 4 patches + the class token
    w = {k: v for k, v in block.state_dict().items()}
    # channel half, per token: LN over C (eps 1e-6), then C -> 4C -> C
    h = F.layer_norm(x, (16,), w["norm2.weight"], w["norm2.bias"], 1e-6)
    h = F.gelu(h @ w["mlp.fc1.weight"].T + w["mlp.fc1.bias"]) @ w["mlp.fc2.weight"].T + w["mlp.fc2.bias"]
    x1 = x + h
    # token half, per channel: LN over the 5 tokens, then 5 -> 20 -> 5
    expected = x1.clone()
    for b in range(2):
        for c in range(16):
            t = x1[b, :, c]
            t = (t - t.mean()) / torch.sqrt(t.var(unbiased=False) + 1e-6) * w["token_mixer.norm.weight"]
            t = t + w["token_mixer.norm.bias"]
            t = F.gelu(w["token_mixer.fc1.weight"] @ t + w["token_mixer.fc1.bias"])
            expected[b, :, c] += w["token_mixer.fc2.weight"] @ t + w["token_mixer.fc2.bias"]
    assert torch.allclose(block(x), expected, atol=1e-10)
    assert w["token_mixer.fc1.weight"].shape == (20, 5)  # hidden = 4 x (tokens incl. class token)


def test_small_ffonly_trains_on_digits() -> None:
    # 4 patches + class token: slower to start than hierarchical models, 16 steps (loss ~0.7x, seeds 0-2)
    cfg = shrink(tokenmix.model_cfg("ffonly_tiny_patch16_224"), depth=2, img_size=32, dims=(32,))
    assert_trains(cfg, steps=16)
