"""Key maps between timm's state dicts and tokenmix's, one table per timm model class.

tokenmix names every block part the same way in every family (stages.S.blocks.B.{norm1, token_mixer, ls1,
norm2, mlp, ls2}), so each table is a short list of renames. Shapes agree except where noted.
"""

from __future__ import annotations

import torch

from .keymap import KeyMap, Rule
from .official import OFFICIAL_KEYMAPS

B = "stages.0.blocks.{i}"  # the blocks of a one-stage model


def _vector(t: torch.Tensor) -> torch.Tensor:
    return t.reshape(-1)


def _as_1_1_c(t: torch.Tensor) -> torch.Tensor:  # timm stores ResMLP's Affine as (1, 1, C)
    return t.reshape(1, 1, -1)


HEAD = [Rule("norm.{rest}", "norm.{rest}"), Rule("head.{rest}", "head.fc.{rest}")]

MIXER = KeyMap(
    "timm MlpMixer",
    [
        Rule("stem.proj.{rest}", "stem.proj.{rest}"),
        Rule("blocks.{i}.norm1.{rest}", B + ".norm1.{rest}"),
        Rule("blocks.{i}.mlp_tokens.{rest}", B + ".token_mixer.{rest}"),
        Rule("blocks.{i}.norm2.{rest}", B + ".norm2.{rest}"),
        Rule("blocks.{i}.mlp_channels.{rest}", B + ".mlp.{rest}"),
        *HEAD,
    ],
)

_AFFINE = dict(to_ours=_vector, to_theirs=_as_1_1_c)
RESMLP = KeyMap(
    "timm MlpMixer (ResBlock)",
    [
        Rule("stem.proj.{rest}", "stem.proj.{rest}"),
        Rule("blocks.{i}.norm1.alpha", B + ".norm1.weight", **_AFFINE),
        Rule("blocks.{i}.norm1.beta", B + ".norm1.bias", **_AFFINE),
        Rule("blocks.{i}.linear_tokens.{rest}", B + ".token_mixer.proj.{rest}"),
        Rule("blocks.{i}.ls1", B + ".ls1.scale"),
        Rule("blocks.{i}.norm2.alpha", B + ".norm2.weight", **_AFFINE),
        Rule("blocks.{i}.norm2.beta", B + ".norm2.bias", **_AFFINE),
        Rule("blocks.{i}.mlp_channels.{rest}", B + ".mlp.{rest}"),
        Rule("blocks.{i}.ls2", B + ".ls2.scale"),
        Rule("norm.alpha", "norm.weight", **_AFFINE),
        Rule("norm.beta", "norm.bias", **_AFFINE),
        Rule("head.{rest}", "head.fc.{rest}"),
    ],
)

GMLP = KeyMap(
    "timm MlpMixer (SpatialGatingBlock)",
    [
        Rule("stem.proj.{rest}", "stem.proj.{rest}"),
        Rule("blocks.{i}.norm.{rest}", B + ".norm1.{rest}"),
        Rule("blocks.{i}.mlp_channels.{rest}", B + ".mlp.{rest}"),
        *HEAD,
    ],
)

METAFORMER = KeyMap(
    "timm MetaFormer",
    [
        Rule("stem.{rest}", "stem.{rest}"),
        Rule("stages.{i}.downsample.{rest}", "stages.{i}.downsample.{rest}"),
        Rule("stages.{i}.blocks.{j}.layer_scale1.scale", "stages.{i}.blocks.{j}.ls1.scale"),
        Rule("stages.{i}.blocks.{j}.layer_scale2.scale", "stages.{i}.blocks.{j}.ls2.scale"),
        Rule("stages.{i}.blocks.{j}.{rest}", "stages.{i}.blocks.{j}.{rest}"),
        Rule("head.{rest}", "head.{rest}"),
    ],
)

CONVMIXER = KeyMap(
    "timm ConvMixer",
    [
        Rule("stem.0.{rest}", "stem.proj.{rest}"),
        Rule("stem.2.{rest}", "stem.norm.{rest}"),
        Rule("blocks.{i}.0.fn.0.{rest}", B + ".token_mixer.{rest}"),
        Rule("blocks.{i}.0.fn.2.{rest}", B + ".norm1.{rest}"),
        Rule("blocks.{i}.1.{rest}", B + ".mlp.{rest}"),
        Rule("blocks.{i}.3.{rest}", B + ".norm2.{rest}"),
        Rule("head.{rest}", "head.fc.{rest}"),
    ],
)

VIT = KeyMap(
    "timm VisionTransformer",
    [
        Rule("cls_token", "stem.cls_token"),
        Rule("pos_embed", "stem.pos_embed"),
        Rule("patch_embed.proj.{rest}", "stem.proj.{rest}"),
        Rule("blocks.{i}.norm1.{rest}", B + ".norm1.{rest}"),
        Rule("blocks.{i}.attn.{rest}", B + ".token_mixer.{rest}"),
        Rule("blocks.{i}.norm2.{rest}", B + ".norm2.{rest}"),
        Rule("blocks.{i}.mlp.{rest}", B + ".mlp.{rest}"),
        *HEAD,
    ],
)

KEYMAPS: dict[str, KeyMap] = {
    "mixer": MIXER,
    "resmlp": RESMLP,
    "gmlp": GMLP,
    "metaformer": METAFORMER,
    "convmixer": CONVMIXER,
    "vit": VIT,
    **OFFICIAL_KEYMAPS,  # official releases of the families timm lacks (GFNet, ...)
}


def from_timm(state_dict: dict[str, torch.Tensor], keymap: str) -> dict[str, torch.Tensor]:
    """A timm state dict in tokenmix keys. `keymap` is the family's map name (ModelEntry.keymap)."""
    return KEYMAPS[keymap].to_ours(state_dict)


def to_timm(state_dict: dict[str, torch.Tensor], keymap: str) -> dict[str, torch.Tensor]:
    """A tokenmix state dict in timm keys, loadable by timm.create_model(entry.timm_name)."""
    return KEYMAPS[keymap].to_theirs(state_dict)
