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


def network_keymap(name: str, stem: str, layout: list[str]) -> KeyMap:
    """CycleMLP's and ViP's `network` list: stages and downsamples interleaved, one index each.

    layout: for each `network` entry, "stage" or "down", e.g. ["stage", "down", "stage", "stage", "stage"]
    for ViP-S/7 (one transition, after stage 1).
    """
    rules = [Rule("patch_embed.proj.{rest}", f"stem.{stem}.{{rest}}")]
    stage = -1
    for k, kind in enumerate(layout):
        if kind == "down":
            rules.append(Rule(f"network.{k}.proj.{{rest}}", f"stages.{stage + 1}.downsample.conv.{{rest}}"))
            continue
        stage += 1
        ours = f"stages.{stage}.blocks.{{j}}"
        rules += [
            Rule(f"network.{k}.{{j}}.attn.{{rest}}", ours + ".token_mixer.{rest}"),
            Rule(f"network.{k}.{{j}}.{{rest}}", ours + ".{rest}"),  # norm1, norm2, mlp: same names
        ]
    return KeyMap(name, [*rules, Rule("norm.{rest}", "norm.{rest}"), Rule("head.{rest}", "head.fc.{rest}")])


def _interleaved(transitions_after: tuple[int, ...]) -> list[str]:
    """The `network` layout of a 4-stage model with a downsample after the given stages (0-based)."""
    out = []
    for i in range(4):
        out.append("stage")
        if i in transitions_after:
            out.append("down")
    return out


OFFICIAL_KEYMAPS["cyclemlp"] = network_keymap("official CycleMLP", "conv", _interleaved((0, 1, 2)))
OFFICIAL_KEYMAPS["vip_s7"] = network_keymap("official ViP-S/7, ViP-L/7", "proj", _interleaved((0,)))
OFFICIAL_KEYMAPS["vip_m7"] = network_keymap("official ViP-M/7", "proj", _interleaved((1,)))
