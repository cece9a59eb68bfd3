"""The official JAX releases of MLP-Mixer (google-research/vision_transformer, `vit_jax/models_mixer.py`): `.npz`
files of flax parameters, one array per '/'-joined module path.

Their layout, from the module tree of `MlpMixer` (names as flax's `nn.compact` assigns them):

    stem/kernel (p, p, 3, C), stem/bias             a conv with HWIO kernels
    MixerBlock_{i}/LayerNorm_0/{scale,bias}        norm1
    MixerBlock_{i}/token_mixing/Dense_{0,1}/...    the token MLP, Dense kernels (in, out)
    MixerBlock_{i}/LayerNorm_1/{scale,bias}        norm2
    MixerBlock_{i}/channel_mixing/Dense_{0,1}/...  the channel MLP
    pre_head_layer_norm/{scale,bias}, head/{kernel,bias}

flax's `nn.gelu` is the tanh approximation: build the model with act="gelu_tanh" to get the official logits.
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
        if array.dtype.kind not in "fiu":
            raise JaxCheckpointError(f"checkpoint {path}: array {name!r} has dtype {array.dtype}, expected numbers")
    return {name: torch.from_numpy(np.ascontiguousarray(array)) for name, array in arrays.items()}


def _dense(t: torch.Tensor) -> torch.Tensor:  # flax Dense kernel (in, out) <-> torch Linear weight (out, in)
    return t.t().contiguous()


def _conv_to_ours(t: torch.Tensor) -> torch.Tensor:  # HWIO -> OIHW
    return t.permute(3, 2, 0, 1).contiguous()


def _conv_to_theirs(t: torch.Tensor) -> torch.Tensor:  # OIHW -> HWIO
    return t.permute(2, 3, 1, 0).contiguous()


def _mlp_rules(theirs: str, ours: str) -> list[Rule]:
    return [
        rule
        for k in (1, 2)
        for rule in (
            Rule(f"{theirs}/Dense_{k - 1}/kernel", f"{ours}.fc{k}.weight", _dense, _dense),
            Rule(f"{theirs}/Dense_{k - 1}/bias", f"{ours}.fc{k}.bias"),
        )
    ]


def _norm_rules(theirs: str, ours: str) -> list[Rule]:
    return [Rule(f"{theirs}/scale", f"{ours}.weight"), Rule(f"{theirs}/bias", f"{ours}.bias")]


_B = "stages.0.blocks.{i}"
MIXER_JAX = KeyMap(
    "official JAX MLP-Mixer (.npz)",
    [
        Rule("stem/kernel", "stem.proj.weight", _conv_to_ours, _conv_to_theirs),
        Rule("stem/bias", "stem.proj.bias"),
        *_norm_rules("MixerBlock_{i}/LayerNorm_0", _B + ".norm1"),
        *_mlp_rules("MixerBlock_{i}/token_mixing", _B + ".token_mixer"),
        *_norm_rules("MixerBlock_{i}/LayerNorm_1", _B + ".norm2"),
        *_mlp_rules("MixerBlock_{i}/channel_mixing", _B + ".mlp"),
        *_norm_rules("pre_head_layer_norm", "norm"),
        Rule("head/kernel", "head.fc.weight", _dense, _dense),
        Rule("head/bias", "head.fc.bias"),
    ],
    file_format="JAX .npz",
)
