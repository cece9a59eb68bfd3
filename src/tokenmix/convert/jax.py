"""The official JAX releases of MLP-Mixer and ViT (google-research/vision_transformer, `vit_jax/models_mixer.py`
and `models_vit.py`; the AugReg files share ViT's layout): `.npz` files of flax parameters, one array per
'/'-joined module path.

Mixer's layout, from the module tree of `MlpMixer` (names as flax's `nn.compact` assigns them):

    stem/kernel (p, p, 3, C), stem/bias             a conv with HWIO kernels
    MixerBlock_{i}/LayerNorm_0/{scale,bias}        norm1
    MixerBlock_{i}/token_mixing/Dense_{0,1}/...    the token MLP, Dense kernels (in, out)
    MixerBlock_{i}/LayerNorm_1/{scale,bias}        norm2
    MixerBlock_{i}/channel_mixing/Dense_{0,1}/...  the channel MLP
    pre_head_layer_norm/{scale,bias}, head/{kernel,bias}

ViT's, from `VisionTransformer` (flax numbers a block's children in order of creation, across types):

    embedding/kernel (p, p, 3, D), embedding/bias, cls (1, 1, D)
    Transformer/posembed_input/pos_embedding (1, 1 + N, D)      class token first, as ours
    Transformer/encoderblock_{i}/LayerNorm_0, LayerNorm_2        norm1, norm2
    .../MultiHeadDotProductAttention_1/{query,key,value}/kernel  (D, heads, head_dim); bias (heads, head_dim)
    .../MultiHeadDotProductAttention_1/out/kernel                (heads, head_dim, D); bias (D,)
    .../MlpBlock_3/Dense_{0,1}                                   the MLP
    Transformer/encoder_norm, head                               final norm, classifier

flax's `nn.gelu` is the tanh approximation: build either model with act="gelu_tanh" (their preset="official")
to get the official logits.
The arrays are read with numpy.load(allow_pickle=False): an .npz holding objects is refused.
"""

from __future__ import annotations

import os
import zipfile

import numpy as np
import torch

from .keymap import KeyMap, Rule


class JaxCheckpointError(ValueError):
    """An .npz file that is not a flat archive of numeric arrays."""


def read_npz(path: str | os.PathLike[str], budget: int | None = None) -> dict[str, torch.Tensor]:
    """The arrays of a JAX/flax .npz checkpoint as float tensors under their '/'-joined names. With `budget`,
    an archive whose entries declare more bytes than that is refused before any is inflated."""
    try:
        if budget is not None:
            with zipfile.ZipFile(path) as archive:
                declared = sum(entry.file_size for entry in archive.infolist())
            if declared > budget:
                raise JaxCheckpointError(
                    f"checkpoint {path} declares {declared / 2**20:.1f} MiB of arrays, more than the "
                    f"{budget / 2**20:.1f} MiB the model can need; refusing to read it"
                )
        with np.load(path, allow_pickle=False) as archive:
            arrays = {name: archive[name] for name in archive.files}
    except (ValueError, OSError, zipfile.BadZipFile, EOFError) as e:
        raise JaxCheckpointError(f"checkpoint {path} is not a readable .npz of arrays: {e}") from None
    for name, array in arrays.items():
        if array.dtype.kind not in "fiu" and not _is_bfloat16(array):
            raise JaxCheckpointError(f"checkpoint {path}: array {name!r} has dtype {array.dtype}, expected numbers")
    return {name: _tensor(array) for name, array in arrays.items()}


def _is_bfloat16(array: np.ndarray) -> bool:
    """numpy has no bfloat16: a JAX bfloat16 array saved with np.savez is 2-byte void (big_vision's utils.py
    `recover_dtype` reads it back the same way), e.g. the Adam moments of its training checkpoints."""
    return array.dtype.kind == "V" and array.dtype.itemsize == 2 and array.dtype.fields is None


def _tensor(array: np.ndarray) -> torch.Tensor:
    array = np.ascontiguousarray(array)
    if _is_bfloat16(array):
        return torch.from_numpy(array.view(np.int16)).view(torch.bfloat16)
    return torch.from_numpy(array)


def dense_transpose(t: torch.Tensor) -> torch.Tensor:  # flax Dense kernel (in, out) <-> torch Linear weight (out, in)
    return t.t().contiguous()


def conv_to_ours(t: torch.Tensor) -> torch.Tensor:  # HWIO -> OIHW
    return t.permute(3, 2, 0, 1).contiguous()


def conv_to_theirs(t: torch.Tensor) -> torch.Tensor:  # OIHW -> HWIO
    return t.permute(2, 3, 1, 0).contiguous()


def mlp_rules(theirs: str, ours: str) -> list[Rule]:
    return [
        rule
        for k in (1, 2)
        for rule in (
            Rule(f"{theirs}/Dense_{k - 1}/kernel", f"{ours}.fc{k}.weight", dense_transpose, dense_transpose),
            Rule(f"{theirs}/Dense_{k - 1}/bias", f"{ours}.fc{k}.bias"),
        )
    ]


def norm_rules(theirs: str, ours: str) -> list[Rule]:
    return [Rule(f"{theirs}/scale", f"{ours}.weight"), Rule(f"{theirs}/bias", f"{ours}.bias")]


_B = "stages.0.blocks.{i}"
MIXER_JAX = KeyMap(
    "official JAX MLP-Mixer (.npz)",
    [
        Rule("stem/kernel", "stem.proj.weight", conv_to_ours, conv_to_theirs),
        Rule("stem/bias", "stem.proj.bias"),
        *norm_rules("MixerBlock_{i}/LayerNorm_0", _B + ".norm1"),
        *mlp_rules("MixerBlock_{i}/token_mixing", _B + ".token_mixer"),
        *norm_rules("MixerBlock_{i}/LayerNorm_1", _B + ".norm2"),
        *mlp_rules("MixerBlock_{i}/channel_mixing", _B + ".mlp"),
        *norm_rules("pre_head_layer_norm", "norm"),
        Rule("head/kernel", "head.fc.weight", dense_transpose, dense_transpose),
        Rule("head/bias", "head.fc.bias"),
    ],
    file_format="JAX .npz",
)


_ATTN = "Transformer/encoderblock_{i}/MultiHeadDotProductAttention_1"
_QKV = ("query", "key", "value")


def vit_blocks(sd: dict[str, torch.Tensor]) -> list[str]:
    """The names of the encoder blocks under `Transformer/` (`encoderblock_0`, ...)."""
    return sorted({k.split("/")[1] for k in sd if k.startswith("Transformer/encoderblock_")})


def fuse_heads(sd: dict[str, torch.Tensor], attn: str) -> None:
    """In place: the per-head query/key/value/out kernels of flax's MultiHeadDotProductAttention at `attn` as one
    fused qkv and one out projection in torch's (out, in) layout, under stand-in keys `{attn}/qkv/{weight,bias}`
    and `{attn}/out/weight` the rules map; the head axis is folded away (ours splits it in the forward)."""
    kernels = [sd.pop(f"{attn}/{n}/kernel") for n in _QKV]  # each (D, heads, head_dim)
    sd[f"{attn}/qkv/weight"] = torch.cat([k.flatten(1).t() for k in kernels]).contiguous()
    sd[f"{attn}/qkv/bias"] = torch.cat([sd.pop(f"{attn}/{n}/bias").flatten() for n in _QKV])
    out = sd.pop(f"{attn}/out/kernel")  # (heads, head_dim, D)
    sd[f"{attn}/out/weight"] = out.flatten(0, 1).t().contiguous()


def unfuse_heads(sd: dict[str, torch.Tensor], attn: str, heads: int) -> None:
    """In place: the inverse of fuse_heads for a layer of `heads` heads."""
    qkv, bias = sd.pop(f"{attn}/qkv/weight"), sd.pop(f"{attn}/qkv/bias")
    dim = qkv.shape[1]
    for n, w, b in zip(_QKV, qkv.chunk(3), bias.chunk(3), strict=True):
        sd[f"{attn}/{n}/kernel"] = w.t().reshape(dim, heads, dim // heads).contiguous()
        sd[f"{attn}/{n}/bias"] = b.reshape(heads, dim // heads).clone()
    sd[f"{attn}/out/kernel"] = sd.pop(f"{attn}/out/weight").t().reshape(heads, dim // heads, dim).contiguous()


def _join_vit_heads(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """fuse_heads for every block; a file in this layout with a pre_logits layer is refused by name (checked only
    in this layout, `Transformer/posembed_input`, so that other layouts' maps still get to read their files)."""
    if "pre_logits/kernel" in sd and "Transformer/posembed_input/pos_embedding" in sd:
        raise JaxCheckpointError(
            "this ViT .npz has a pre_logits (representation) layer, which tokenmix's ViT does not build; "
            "use a release without one (the ImageNet-1k fine-tuned and AugReg files)"
        )
    sd = dict(sd)
    for block in vit_blocks(sd):
        attn = f"Transformer/{block}/MultiHeadDotProductAttention_1"
        if f"{attn}/query/kernel" in sd:
            fuse_heads(sd, attn)
    return sd


def _split_vit_heads(heads: int):
    def split(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        sd = dict(sd)
        for block in vit_blocks(sd):
            unfuse_heads(sd, f"Transformer/{block}/MultiHeadDotProductAttention_1", heads)
        return sd

    return split


def vit_jax_keymap(heads: int) -> KeyMap:
    """The official JAX ViT layout for a model with `heads` attention heads (the head count is needed only to
    write their layout: reading takes it from the kernels' shapes)."""
    block, ours = "Transformer/encoderblock_{i}", "stages.0.blocks.{i}"
    return KeyMap(
        f"official JAX ViT (.npz, {heads} heads)",
        [
            Rule("embedding/kernel", "stem.proj.weight", conv_to_ours, conv_to_theirs),
            Rule("embedding/bias", "stem.proj.bias"),
            Rule("cls", "stem.cls_token"),
            Rule("Transformer/posembed_input/pos_embedding", "stem.pos_embed"),
            *norm_rules(block + "/LayerNorm_0", ours + ".norm1"),
            Rule(_ATTN + "/qkv/{rest}", ours + ".token_mixer.qkv.{rest}"),
            Rule(_ATTN + "/out/weight", ours + ".token_mixer.proj.weight"),
            Rule(_ATTN + "/out/bias", ours + ".token_mixer.proj.bias"),
            *norm_rules(block + "/LayerNorm_2", ours + ".norm2"),
            *mlp_rules(block + "/MlpBlock_3", ours + ".mlp"),
            *norm_rules("Transformer/encoder_norm", "norm"),
            Rule("head/kernel", "head.fc.weight", dense_transpose, dense_transpose),
            Rule("head/bias", "head.fc.bias"),
        ],
        join=_join_vit_heads,
        split=_split_vit_heads(heads),
        file_format="JAX .npz",
    )
