"""sMLPNet: the sparse row/column mixer against a float64 loop (the `proj_h`/`proh_w` naming quirk pinned),
the official key map, training on digits."""

from __future__ import annotations

import torch
import torch.nn.functional as F

import tokenmix
from tokenmix.convert import from_tokenmix, to_tokenmix
from tokenmix.layers.mixers.sparse_mlp import SparseMlp

from .helpers import randomize_
from .training import assert_trains, shrink


def test_sparse_mlp_mixes_each_row_and_column_float64() -> None:
    C, H, W = 2, 3, 3
    mixer = randomize_(SparseMlp(C, grid=(H, W))).double().eval()
    sd = mixer.state_dict()
    x = torch.randn(1, C, H, W, dtype=torch.float64)
    scale = sd["norm.weight"] / torch.sqrt(sd["norm.running_var"] + 1e-5)
    a = F.gelu((x - sd["norm.running_mean"].view(-1, 1, 1)) * scale.view(-1, 1, 1) + sd["norm.bias"].view(-1, 1, 1))
    Ww, bw = sd["proj_h.weight"][:, :, 0, 0], sd["proj_h.bias"]  # proj_h mixes along W (official naming)
    Wh, bh = sd["proh_w.weight"][:, :, 0, 0], sd["proh_w.bias"]  # proh_w mixes along H
    along_w, along_h = torch.zeros_like(a), torch.zeros_like(a)
    for c in range(C):
        for h in range(H):
            along_w[0, c, h, :] = Ww @ a[0, c, h, :] + bw
        for w in range(W):
            along_h[0, c, :, w] = Wh @ a[0, c, :, w] + bh
    fuse = sd["fuse.weight"][:, :, 0, 0]
    expected = torch.einsum("ok,bkhw->bohw", fuse, torch.cat([a, along_w, along_h], dim=1))
    assert torch.allclose(mixer(x), expected, atol=1e-10)


def test_official_keys_number_blocks_across_stages() -> None:
    with torch.device("meta"):
        sd = tokenmix.create_model("smlpnet_t").state_dict()
    theirs = from_tokenmix(sd, "smlp_t")
    # 2 + 8 + 14 + 2 blocks: our stages.3.blocks.1 is their block 25
    assert theirs["token_mix.25.1.proh_w.weight"].shape == (7, 7, 1, 1)
    assert theirs["channel_mix.25.2.net.0.weight"].shape == (640 * 3, 640)  # a Linear there, a 1x1 conv here
    back = to_tokenmix(theirs, "smlp_t")
    assert set(back) == set(sd) and all(back[k].shape == sd[k].shape for k in sd)


def test_small_smlpnet_trains() -> None:
    assert_trains(shrink(tokenmix.model_cfg("smlpnet_t"), depth=1, img_size=32, dims=(16, 32, 64, 128)))
