"""Key maps for the papers' official releases, where they differ from timm's.

- ResMLP (facebookresearch/deit, resmlp_models.py): the token mixer is called `attn`, LayerScale `gamma_1/2`,
  Affine stores (C,) vectors.
- PoolFormer v1 (sail-sg/poolformer): one flat `network` list alternating stages and downsamplings
  (network.0 = stage 0, network.1 = downsample to stage 1, ...), `patch_embed` stem, `layer_scale_1/2`, and a
  GroupNorm `norm` before pooling. That head is ours with head="official"; the second map sends it to timm's
  head position (head.norm) for the default head, as timm does (other logits, see models/poolformer.py).
"""

from __future__ import annotations

from .keymap import KeyMap, Rule

B = "stages.0.blocks.{i}"

RESMLP = KeyMap(
    "official ResMLP",
    [
        Rule("patch_embed.proj.{rest}", "stem.proj.{rest}"),
        Rule("blocks.{i}.norm1.alpha", B + ".norm1.weight"),
        Rule("blocks.{i}.norm1.beta", B + ".norm1.bias"),
        Rule("blocks.{i}.attn.{rest}", B + ".token_mixer.proj.{rest}"),
        Rule("blocks.{i}.gamma_1", B + ".ls1.scale"),
        Rule("blocks.{i}.norm2.alpha", B + ".norm2.weight"),
        Rule("blocks.{i}.norm2.beta", B + ".norm2.bias"),
        Rule("blocks.{i}.mlp.{rest}", B + ".mlp.{rest}"),
        Rule("blocks.{i}.gamma_2", B + ".ls2.scale"),
        Rule("norm.alpha", "norm.weight"),
        Rule("norm.beta", "norm.bias"),
        Rule("head.{rest}", "head.fc.{rest}"),
    ],
)


def _stage_of_network(f: dict[str, str]) -> dict[str, str]:  # network.{2s} holds the blocks of stage s
    return {**f, "s": str(int(f["i"]) // 2)}


def _network_of_stage(f: dict[str, str]) -> dict[str, str]:
    return {**f, "i": str(2 * int(f["s"]))}


def _stage_of_downsample(f: dict[str, str]) -> dict[str, str]:  # network.{2s-1} downsamples into stage s
    return {**f, "s": str((int(f["i"]) + 1) // 2)}


def _downsample_of_stage(f: dict[str, str]) -> dict[str, str]:
    return {**f, "i": str(2 * int(f["s"]) - 1)}


_BLOCK = dict(ours_fn=_stage_of_network, theirs_fn=_network_of_stage)
_POOLFORMER_BODY = [
    Rule("patch_embed.proj.{rest}", "stem.conv.{rest}"),
    Rule(
        "network.{i}.proj.{rest}",
        "stages.{s}.downsample.conv.{rest}",
        ours_fn=_stage_of_downsample,
        theirs_fn=_downsample_of_stage,
    ),  # fmt: skip
    Rule("network.{i}.{j}.layer_scale_1", "stages.{s}.blocks.{j}.ls1.scale", **_BLOCK),
    Rule("network.{i}.{j}.layer_scale_2", "stages.{s}.blocks.{j}.ls2.scale", **_BLOCK),
    Rule("network.{i}.{j}.{rest}", "stages.{s}.blocks.{j}.{rest}", **_BLOCK),
    Rule("head.{rest}", "head.fc.{rest}"),
]
POOLFORMER = KeyMap("official PoolFormer", [*_POOLFORMER_BODY, Rule("norm.{rest}", "norm.{rest}")])
POOLFORMER_TO_TIMM_HEAD = KeyMap(
    "official PoolFormer, norm moved to timm's head", [*_POOLFORMER_BODY, Rule("norm.{rest}", "head.norm.{rest}")]
)

KEYMAPS = {
    "resmlp_official": RESMLP,
    "poolformer_official": POOLFORMER,
    "poolformer_official_timm_head": POOLFORMER_TO_TIMM_HEAD,
}
