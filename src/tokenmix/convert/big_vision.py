"""big_vision's own ViT files (google-research/big_vision, `big_vision/models/vit.py` `_Model`): `.npz` of flax
parameters, one array per '/'-joined path (its utils.py `tree_flatten_with_names`), maybe under `params/` (a
training checkpoint with optimizer state) or `opt/target/` (an old flax-optimizer one), and in a two-tower file
(SigLIP, LiT) under `img/`; `load_params` unwraps the same ones.

Its layout, from the module tree (linen numbers a module's children per type, unlike vision_transformer's):

    embedding/kernel (p, p, 3, D), embedding/bias          a conv with HWIO kernels
    pos_embedding (1, N, D)                                 patch tokens only: added *before* the class token
    cls (1, 1, D)                                           pool_type="tok" only
    Transformer/encoderblock_{i}/LayerNorm_0, LayerNorm_1   norm1, norm2
    .../MultiHeadDotProductAttention_0/{query,key,value,out} as in vision_transformer's files
    .../MlpBlock_0/Dense_{0,1}                              the MLP
    Transformer/encoder_norm, head                          final norm (on every token), classifier

A `scan=True` model stores one `Transformer/encoderblock/...` whose arrays stack the blocks on a leading axis;
it is read as the blocks one by one (their `scan_to_pyloop`), and written unstacked (their default).

What tokenmix's ViT builds exactly, and so loads:
- pool_type="tok": ours adds the position embedding after prepending the class token, so the class slot gets a
  zero row (exact). Written back, our class slot's row is folded into `cls` (the class token only ever enters
  as cls + row 0), which is exact too and is what their `fix_old_checkpoints` does with old files; a file
  whose pos_embedding still holds that slot (N = k*k + 1, their old layout) is already ours.
- pool_type="gap" (their default): no class token, the mean of the normed tokens: build with pool="avg".
  pool_type="0" (the first patch token, no class token) leaves the same keys and cannot be told from "gap".
- Refused, naming what the file has: a MAP head (pool_type="map": attention pooling, `MAPHead_0`), a pre_logits
  layer (rep_size: Dense + tanh before the classifier), and posemb="sincos2d", whose fixed table the file does
  not store, nor the token grid it was built for.
GELU is flax's nn.gelu, the tanh approximation: build with act="gelu_tanh" (preset="official").
"""

from __future__ import annotations

import math

import torch

from .jax import (
    JaxCheckpointError,
    conv_to_ours,
    conv_to_theirs,
    dense_transpose,
    fuse_heads,
    mlp_rules,
    norm_rules,
    unfuse_heads,
    vit_blocks,
)
from .keymap import KeyMap, Rule

WRAPPERS = ("params/", "opt/target/")  # training checkpoints: the weights beside the optimizer state
TOWER = "img/"  # the image encoder of a two-tower model
_ATTN = "MultiHeadDotProductAttention_0"
_SCAN = "Transformer/encoderblock/"


def is_big_vision_vit(sd: dict[str, torch.Tensor]) -> bool:
    """Whether the (unwrapped) keys are big_vision's ViT: its per-type numbered attention, or scanned blocks."""
    return f"Transformer/encoderblock_0/{_ATTN}/query/kernel" in sd or f"{_SCAN}{_ATTN}/query/kernel" in sd


def _unwrap(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    for prefix in WRAPPERS:
        if any(k.startswith(prefix) for k in sd):
            sd = {k.removeprefix(prefix): v for k, v in sd.items() if k.startswith(prefix)}
            break
    if "embedding/kernel" not in sd and any(k.startswith(TOWER + "embedding/") for k in sd):
        sd = {k.removeprefix(TOWER): v for k, v in sd.items() if k.startswith(TOWER)}
    if "Transformer/pos_embedding" in sd:  # their layout before 2022 kept it in the encoder
        sd = {("pos_embedding" if k == "Transformer/pos_embedding" else k): v for k, v in sd.items()}
    return sd


def _refuse_what_we_do_not_build(sd: dict[str, torch.Tensor]) -> None:
    found = []
    if any(k.startswith("MAPHead_0/") for k in sd) or "probe" in sd:
        found.append("a MAP head (pool_type='map': attention pooling by a learned probe)")
    if "pre_logits/kernel" in sd:
        found.append("a pre_logits layer (rep_size: a Dense and tanh before the classifier)")
    if "pos_embedding" not in sd:
        found.append("posemb='sincos2d' (no pos_embedding: a fixed table, for a token grid the file does not record)")
    if found:
        raise JaxCheckpointError(
            f"this big_vision ViT .npz has {'; '.join(found)}, which tokenmix's ViT does not build"
        )


def _unscan(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Scanned blocks (each array (depth, ...)) as encoderblock_0 ... encoderblock_{depth-1}."""
    out = {k: v for k, v in sd.items() if not k.startswith(_SCAN)}
    for key, stacked in sd.items():
        if key.startswith(_SCAN):
            for i, block in enumerate(stacked.unbind(0)):
                out[f"Transformer/encoderblock_{i}/{key.removeprefix(_SCAN)}"] = block.contiguous()
    return out


def _join(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Their file as one key per tensor of ours: unwrapped, unscanned, heads fused, class slot added. A file in
    another layout passes through untouched (the rules then refuse its keys, and the next map is tried)."""
    unwrapped = _unwrap(sd)
    if not is_big_vision_vit(unwrapped):
        return sd
    _refuse_what_we_do_not_build(unwrapped)
    sd = _unscan(unwrapped)
    for block in vit_blocks(sd):
        fuse_heads(sd, f"Transformer/{block}/{_ATTN}")
    pos = sd["pos_embedding"]  # (1, N, D)
    if "cls" in sd and math.isqrt(pos.shape[1]) ** 2 == pos.shape[1]:
        sd["pos_embedding"] = torch.cat([pos.new_zeros(1, 1, pos.shape[2]), pos], dim=1)  # (1, 1 + N, D)
    return sd


def _split(heads: int):
    def split(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        sd = dict(sd)
        for block in vit_blocks(sd):
            unfuse_heads(sd, f"Transformer/{block}/{_ATTN}", heads)
        if "cls" in sd:  # their class token enters without a position embedding: ours's row 0 goes into it
            pos = sd["pos_embedding"]
            sd["cls"], sd["pos_embedding"] = sd["cls"] + pos[:, :1], pos[:, 1:].contiguous()
        return sd

    return split


def big_vision_vit_keymap(heads: int) -> KeyMap:
    """big_vision's ViT layout for a model with `heads` attention heads (needed only to write their layout)."""
    block, ours = "Transformer/encoderblock_{i}", "stages.0.blocks.{i}"
    attn = f"{block}/{_ATTN}"
    return KeyMap(
        f"big_vision ViT (.npz, {heads} heads)",
        [
            Rule("embedding/kernel", "stem.proj.weight", conv_to_ours, conv_to_theirs),
            Rule("embedding/bias", "stem.proj.bias"),
            Rule("cls", "stem.cls_token"),
            Rule("pos_embedding", "stem.pos_embed"),
            *norm_rules(block + "/LayerNorm_0", ours + ".norm1"),
            Rule(attn + "/qkv/{rest}", ours + ".token_mixer.qkv.{rest}"),
            Rule(attn + "/out/weight", ours + ".token_mixer.proj.weight"),
            Rule(attn + "/out/bias", ours + ".token_mixer.proj.bias"),
            *norm_rules(block + "/LayerNorm_1", ours + ".norm2"),
            *mlp_rules(block + "/MlpBlock_0", ours + ".mlp"),
            *norm_rules("Transformer/encoder_norm", "norm"),
            Rule("head/kernel", "head.fc.weight", dense_transpose, dense_transpose),
            Rule("head/bias", "head.fc.bias"),
        ],
        join=_join,
        split=_split(heads),
        file_format="JAX .npz",
        hint="a big_vision file without `cls` is pool_type='gap': build the model with pool='avg' "
        "(one with `cls` is pool_type='tok': pool='token', the default)",
    )


BIG_VISION_KEYMAPS = {f"vit_big_vision_{heads}h": big_vision_vit_keymap(heads) for heads in (3, 6, 12)}  # Ti/S/B
