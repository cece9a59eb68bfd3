"""Key maps for the official releases of families timm does not have. They join tokenmix.convert.timm.KEYMAPS,
so `create_model(name, checkpoint_path=official_file)` loads them through the model's `keymap`."""

from __future__ import annotations

from .keymap import KeyMap, Rule

B = "stages.0.blocks.{i}"


def _block_rules(theirs: str, ours: str) -> list[Rule]:
    return [
        Rule(theirs + ".norm1.{rest}", ours + ".norm1.{rest}"),
        Rule(theirs + ".filter.complex_weight", ours + ".token_mixer.complex_weight"),
        Rule(theirs + ".norm2.{rest}", ours + ".norm2.{rest}"),
        Rule(theirs + ".mlp.{rest}", ours + ".mlp.{rest}"),
        Rule(theirs + ".gamma", ours + ".ls2.scale"),
    ]


GFNET = KeyMap(
    "official GFNet",
    [
        Rule("patch_embed.proj.{rest}", "stem.proj.{rest}"),
        Rule("pos_embed", "stem.pos_embed"),
        *_block_rules("blocks.{i}", B),
        Rule("norm.{rest}", "norm.{rest}"),
        Rule("head.{rest}", "head.fc.{rest}"),
    ],
)


GFNET_H = KeyMap(
    "official GFNetPyramid",
    [
        Rule("patch_embed.0.proj.{rest}", "stem.proj.{rest}"),
        Rule("patch_embed.{i}.proj.{rest}", "stages.{i}.downsample.conv.{rest}"),
        Rule("pos_embed", "stem.pos_embed"),
        *_block_rules("blocks.{i}.{j}", "stages.{i}.blocks.{j}"),
        Rule("norm.{rest}", "norm.{rest}"),
        Rule("head.{rest}", "head.fc.{rest}"),
    ],
)

OFFICIAL_KEYMAPS: dict[str, KeyMap] = {"gfnet": GFNET, "gfnet_h": GFNET_H}
