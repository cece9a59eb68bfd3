"""Key maps for the papers' official releases: the families timm lacks (GFNet, CycleMLP, ViP, sMLPNet,
RepMLPNet), and the official ResMLP and PoolFormer checkpoints, whose keys differ from timm's.

- ResMLP (facebookresearch/deit, resmlp_models.py): the token mixer is called `attn`, LayerScale `gamma_1/2`,
  Affine stores (C,) vectors.
- PoolFormer v1 (sail-sg/poolformer): one flat `network` list alternating stages and downsamplings
  (network.0 = stage 0, network.1 = downsample to stage 1, ...), `patch_embed` stem, `layer_scale_1/2`, and a
  GroupNorm `norm` before pooling. That head is ours with head="official"; the second map sends it to timm's
  head position (head.norm) for the default head, as timm does (other logits, see models/poolformer.py).

`create_model(name, checkpoint_path=F)` tries the model's key maps in turn (ModelEntry.keymaps).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .jax import MIXER_JAX, vit_jax_keymap
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
OFFICIAL_KEYMAPS["vip_s14"] = network_keymap("official ViP-S/14", "proj", _interleaved(()))  # no transition


def _conv1x1(t: torch.Tensor) -> torch.Tensor:  # their Linear (out, in) -> our 1x1 conv (out, in, 1, 1)
    return t[:, :, None, None]


def _linear(t: torch.Tensor) -> torch.Tensor:
    return t.flatten(1)


def smlp_keymap(name: str, depths: tuple[int, ...]) -> KeyMap:
    """sMLPNet numbers its blocks 0..sum(depths)-1 across stages; ours are stages.{i}.blocks.{j}."""
    starts = [sum(depths[:s]) for s in range(len(depths))]

    def to_stage(f: dict[str, str]) -> dict[str, str]:
        flat = int(f["i"])
        stage = max(s for s, start in enumerate(starts) if start <= flat)
        return {**f, "i": str(stage), "j": str(flat - starts[stage])}

    def to_flat(f: dict[str, str]) -> dict[str, str]:
        return {**f, "i": str(starts[int(f["i"])] + int(f["j"]))}

    ours = "stages.{i}.blocks.{j}."
    block = dict(ours_fn=to_stage, theirs_fn=to_flat)
    return KeyMap(
        name,
        [
            Rule("to_patch_embedding.0.0.weight", "stem.proj.weight"),
            Rule("to_patch_embedding.{i}.0.weight", "stages.{i}.downsample.conv.weight"),
            Rule("token_mix.{i}.0.conv_merge.BN.{rest}", ours + "norm1.{rest}", **block),
            Rule("token_mix.{i}.0.conv_merge.Conv.weight", ours + "dwconv.weight", **block),
            Rule("token_mix.{i}.1.BN.{rest}", ours + "token_mixer.norm.{rest}", **block),
            Rule("token_mix.{i}.1.{rest}", ours + "token_mixer.{rest}", **block),  # proj_h, proh_w, fuse
            Rule("channel_mix.{i}.1.{rest}", ours + "norm2.{rest}", **block),
            Rule("channel_mix.{i}.2.net.0.weight", ours + "mlp.fc1.weight", _conv1x1, _linear, **block),
            Rule("channel_mix.{i}.2.net.0.bias", ours + "mlp.fc1.bias", **block),
            Rule("channel_mix.{i}.2.net.3.weight", ours + "mlp.fc2.weight", _conv1x1, _linear, **block),
            Rule("channel_mix.{i}.2.net.3.bias", ours + "mlp.fc2.bias", **block),
            Rule("batch_norm.{rest}", "norm.{rest}"),
            Rule("mlp_head.0.{rest}", "head.fc.{rest}"),
        ],
    )


OFFICIAL_KEYMAPS["smlp_t"] = smlp_keymap("official sMLPNet-T", (2, 8, 14, 2))
OFFICIAL_KEYMAPS["smlp_sb"] = smlp_keymap("official sMLPNet-S/B", (2, 10, 24, 2))


def _next_stage(f: dict[str, str]) -> dict[str, str]:  # their embeds.{i} sits before our stage i + 1
    return {**f, "i": str(int(f["i"]) + 1)}


def _prev_stage(f: dict[str, str]) -> dict[str, str]:
    return {**f, "i": str(int(f["i"]) - 1)}


_RB = "stages.{i}.blocks.{j}."
_EMBED = dict(ours_fn=_next_stage, theirs_fn=_prev_stage)
OFFICIAL_KEYMAPS["repmlpnet"] = KeyMap(
    "official RepMLPNet",
    [
        Rule("conv_embedding.conv.{rest}", "stem.conv.{rest}"),
        Rule("conv_embedding.bn.{rest}", "stem.norm.{rest}"),
        Rule("stages.{i}.{j}.repmlp_block.{rest}", _RB + "token_mixer.{rest}"),
        Rule("stages.{i}.{j}.ffn_block.ffn_fc1.{rest}", _RB + "mlp.fc1.{rest}"),
        Rule("stages.{i}.{j}.ffn_block.ffn_fc2.{rest}", _RB + "mlp.fc2.{rest}"),
        Rule("stages.{i}.{j}.prebn1.{rest}", _RB + "norm1.{rest}"),
        Rule("stages.{i}.{j}.prebn2.{rest}", _RB + "norm2.{rest}"),
        Rule("embeds.{i}.conv.{rest}", "stages.{i}.downsample.conv.{rest}", **_EMBED),
        Rule("embeds.{i}.bn.{rest}", "stages.{i}.downsample.norm.{rest}", **_EMBED),
        Rule("head_norm.{rest}", "norm.{rest}"),
        Rule("head.{rest}", "head.fc.{rest}"),
    ],
)


def hybrid_keymap(name: str, mixers: str) -> KeyMap:
    """sail-sg/poolformer `models/metaformer.py` (the PoolFormer paper's Table 5 models). Its `network` list
    interleaves stages, downsamples and, before the first attention stage, an `AddPositionEmb`. Its MLPs are
    1x1 convs everywhere; ours are Linears in token-layout stages (attention, spatial FC): hence reshapes."""
    kinds = mixers.split(",")
    first_attn = kinds.index("attn") if "attn" in kinds else None
    rules, k = [Rule("patch_embed.proj.{rest}", "stem.conv.{rest}")], 0
    for s, kind in enumerate(kinds):
        if s > 0:
            rules.append(Rule(f"network.{k}.proj.{{rest}}", f"stages.{s}.downsample.conv.{{rest}}"))
            k += 1
        if s == first_attn and s > 0:
            rules.append(Rule(f"network.{k}.pos_embed", f"stages.{s}.downsample.pos_embed"))
            k += 1
        theirs, ours = f"network.{k}.{{j}}.", f"stages.{s}.blocks.{{j}}."
        rules += [
            Rule(theirs + "layer_scale_1", ours + "ls1.scale"),
            Rule(theirs + "layer_scale_2", ours + "ls2.scale"),
        ]
        if kind == "fc":  # SpatialFC: their `fc` is our linear_tokens `proj`
            rules.append(Rule(theirs + "token_mixer.fc.{rest}", ours + "token_mixer.proj.{rest}"))
        if kind in ("attn", "fc"):  # token-layout stage: Linear MLP here, 1x1 conv there
            rules += [
                Rule(theirs + f"mlp.{fc}.weight", ours + f"mlp.{fc}.weight", _linear, _conv1x1) for fc in ("fc1", "fc2")
            ]
        rules.append(Rule(theirs + "{rest}", ours + "{rest}"))
        k += 1
    return KeyMap(name, [*rules, Rule("norm.{rest}", "norm.{rest}"), Rule("head.{rest}", "head.fc.{rest}")])


_HYBRIDS = {
    "id": "id,id,id,id",
    "pppa": "pool,pool,pool,attn",
    "ppaa": "pool,pool,attn,attn",
    "pppf": "pool,pool,pool,fc",
    "ppff": "pool,pool,fc,fc",
}
for _name, _mixers in _HYBRIDS.items():
    OFFICIAL_KEYMAPS[f"hybrid_{_name}"] = hybrid_keymap(f"official metaformer_{_name}_s12", _mixers)


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


# The official PoolFormer is the "pool,pool,pool,pool" case of the hybrids' layout; its GroupNorm `norm` is our
# feature norm (head="official") or, as timm places it, the norm of our default head.
POOLFORMER = hybrid_keymap('official PoolFormer (build the model with head="official" for it)', "pool,pool,pool,pool")
POOLFORMER_TO_TIMM_HEAD = KeyMap(
    "official PoolFormer, norm moved to timm's head",
    [*POOLFORMER.rules[:-2], Rule("norm.{rest}", "head.norm.{rest}"), Rule("head.{rest}", "head.fc.{rest}")],
)

OFFICIAL_KEYMAPS["resmlp_official"] = RESMLP
OFFICIAL_KEYMAPS["mixer_jax"] = MIXER_JAX
OFFICIAL_KEYMAPS.update({f"vit_jax_{heads}h": vit_jax_keymap(heads) for heads in (3, 6, 12)})  # ViT-Ti/S/B
OFFICIAL_KEYMAPS["poolformer_official"] = POOLFORMER
OFFICIAL_KEYMAPS["poolformer_official_timm_head"] = POOLFORMER_TO_TIMM_HEAD


def sail_metaformer_keymap(name: str, layouts: tuple[str, ...]) -> KeyMap:
    """sail-sg/metaformer `metaformer_baselines.py` (IdentityFormer, RandFormer, PoolFormerV2, ConvFormer,
    CAFormer). Its stem and downsamples are `downsample_layers.{i}` (a conv with a post-norm in the stem, a
    pre-norm elsewhere), its blocks `stages.{i}.{j}` with `layer_scale1/2` and `res_scale1/2`, its output norm
    `norm` (timm's `head.norm`) and its classifier `head` (a Linear, or MlpHead's fc1/norm/fc2). It runs every
    stage channels-last with Linears; our NCHW stages hold the same weights as 1x1 convs (`layouts`: per stage).
    """
    rules = [
        Rule("downsample_layers.0.conv.{rest}", "stem.conv.{rest}"),
        Rule("downsample_layers.0.post_norm.{rest}", "stem.norm.{rest}"),
        Rule("downsample_layers.{i}.conv.{rest}", "stages.{i}.downsample.conv.{rest}"),
        Rule("downsample_layers.{i}.pre_norm.{rest}", "stages.{i}.downsample.norm.{rest}"),
    ]
    for s, layout in enumerate(layouts):
        theirs, ours = f"stages.{s}.{{j}}.", f"stages.{s}.blocks.{{j}}."
        rules += [Rule(theirs + f"layer_scale{k}.scale", ours + f"ls{k}.scale") for k in (1, 2)]
        if layout == "nchw":  # their pointwise Linears are our 1x1 convs
            linears = ("mlp.fc1", "mlp.fc2", "token_mixer.pwconv1", "token_mixer.pwconv2")
            rules += [Rule(theirs + f"{fc}.weight", ours + f"{fc}.weight", _conv1x1, _linear) for fc in linears]
        rules.append(Rule(theirs + "{rest}", ours + "{rest}"))  # norm1/2, token_mixer, mlp, res_scale1/2
    return KeyMap(name, [*rules, Rule("norm.{rest}", "head.norm.{rest}"), Rule("head.{rest}", "head.fc.{rest}")])


OFFICIAL_KEYMAPS["metaformer_official"] = sail_metaformer_keymap("official MetaFormer baselines", ("nchw",) * 4)
OFFICIAL_KEYMAPS["metaformer_official_nlc34"] = sail_metaformer_keymap(
    "official MetaFormer baselines (token-layout stages 3-4)", ("nchw", "nchw", "nlc", "nlc")
)


def _join_ffonly_pos_embed(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Their (1, C, h, w) position map and (1, 1, C) class-token embedding as ViT's (1, 1 + N, C) sequence, at
    the grid their token MLP is built for (N + 1 = len(blocks.0.norm2)): the large /32 model keeps a 14 x 14
    map and resizes it in every forward (bilinear, align_corners=False); doing it once here gives the same
    numbers."""
    sd = dict(sd)
    grid_map, cls = sd.pop("pos_encoding.pos_embed"), sd.pop("pos_encoding.cls_pos_embed")
    side = math.isqrt(sd["blocks.0.norm2.weight"].shape[0] - 1)
    if grid_map.shape[-2:] != (side, side):
        grid_map = F.interpolate(grid_map, size=(side, side), mode="bilinear", align_corners=False)
    sd["pos_embed"] = torch.cat([cls, grid_map.flatten(2).transpose(1, 2)], dim=1)
    return sd


def _split_ffonly_pos_embed(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The inverse of _join_ffonly_pos_embed at our grid (a large model's map comes back as 7 x 7: build the
    official model with learned_positional_encoding_size=(7, 7) to load it)."""
    sd = dict(sd)
    seq = sd.pop("pos_embed")
    side = math.isqrt(seq.shape[1] - 1)
    sd["pos_encoding.cls_pos_embed"] = seq[:, :1].clone()
    sd["pos_encoding.pos_embed"] = seq[:, 1:].transpose(1, 2).reshape(1, -1, side, side).clone()
    return sd


# lukemelas/do-you-even-need-attention `vision_transformer_linear.py` (linear_tiny/base/large): each block's
# channel MLP is `mlp1`/`norm1` and its token MLP `mlp2`/`norm2` (ours: mlp/norm2 and token_mixer.fc1/fc2/norm).
OFFICIAL_KEYMAPS["ffonly_official"] = KeyMap(
    "official feed-forward-only ViT",
    [
        Rule("patch_embed.proj.{rest}", "stem.proj.{rest}"),
        Rule("cls_token", "stem.cls_token"),
        Rule("pos_embed", "stem.pos_embed"),
        Rule("blocks.{i}.mlp1.{rest}", B + ".mlp.{rest}"),
        Rule("blocks.{i}.norm1.{rest}", B + ".norm2.{rest}"),
        Rule("blocks.{i}.norm2.{rest}", B + ".token_mixer.norm.{rest}"),  # first: ours is under token_mixer too
        Rule("blocks.{i}.mlp2.{rest}", B + ".token_mixer.{rest}"),
        Rule("norm.{rest}", "norm.{rest}"),
        Rule("head.{rest}", "head.fc.{rest}"),
    ],
    join=_join_ffonly_pos_embed,
    split=_split_ffonly_pos_embed,
)


def _repmlp_rules(theirs: str, ours: str, merged: bool = False) -> list[Rule]:
    """The official RepMLP v1 module's names inside a block (repmlp.py before 82c0ea6). Merged
    (`switch_to_deploy`): fc3 with a bias, fc1 holding avg.bn; no fc3_bn, avg.bn or repconv{k}."""
    rules = [
        Rule(theirs + ".fc1_fc2.fc1.{rest}", ours + ".fc1.{rest}"),
        Rule(theirs + ".fc1_fc2.fc2.{rest}", ours + ".fc2.{rest}"),
    ]
    if merged:
        return [*rules, Rule(theirs + ".fc3.{rest}", ours + ".fc3.{rest}")]
    return [
        *rules,
        Rule(theirs + ".avg.bn.{rest}", ours + ".avg_bn.{rest}"),
        Rule(theirs + ".{rest}", ours + ".{rest}"),  # fc3, fc3_bn, repconv{k}.conv/bn
    ]


# Official block attribute -> ours, per RepMLP block kind (repmlp_blocks.py before 82c0ea6).
_REPMLP_BLOCKS = {
    "light": {"light_conv1": "conv1", "light_conv3": "conv3"},
    "bottleneck": {
        "btnk_conv1": "conv1",
        "btnk_conv2": "token_mixer.reduce",
        "btnk_conv4": "token_mixer.expand",
        "btnk_conv5": "conv3",
    },
}


def repmlp_resnet_keymap(name: str, kind: str, repmlp_stages: tuple[int, ...] = (1, 2), merged: bool = False) -> KeyMap:
    """DingXiaoH/RepMLP `repmlp_resnet.py` (training form, or merged): `stage0` is the stem, `stage{s+1}.{j}` our
    stages.{s}.blocks.{j}; a plain ResNet block keeps conv1/conv2/conv3/shortcut (conv2 is our token mixer),
    the RepMLP blocks (every block but the first of stages 2-3) name their parts by kind.

    merged: the files of its `convert.py` / `repmlp_model_convert` (every module's `switch_to_deploy`), for the
    models built with deploy=True: each `ConvBN` a `conv` with bias and no `bn`, RepMLP merged (_repmlp_rules).
    Only those keys match, so a training file is refused by this map and named by the other."""
    unit = ".conv.{rest}" if merged else ".{rest}"  # a ConvBN's tensors: its conv (weight, bias) only, if merged
    rules = [Rule("stage0.0.conv.{rest}", "stem.conv.{rest}")]
    if not merged:
        rules.append(Rule("stage0.0.bn.{rest}", "stem.norm.{rest}"))
    for s in range(4):
        theirs, ours = f"stage{s + 1}.", f"stages.{s}.blocks."
        plain = [Rule(theirs + "{j}.conv2" + unit, ours + "{j}.token_mixer" + unit)]
        plain += [Rule(theirs + "{j}." + p + unit, ours + "{j}." + p + unit) for p in ("conv1", "conv3")]
        if s in repmlp_stages:  # block 0 is plain (it strides); the specific rules come first for the way back
            rules += [Rule(r.theirs.replace("{j}", "0"), r.ours.replace("{j}", "0")) for r in plain]
            blocks = _REPMLP_BLOCKS[kind]
            rules += [Rule(theirs + "{j}." + t + unit, ours + "{j}." + o + unit) for t, o in blocks.items()]
            prefix = "light_repmlp" if kind == "light" else "btnk_repmlp"
            rules += _repmlp_rules(theirs + "{j}." + prefix, ours + "{j}.token_mixer.repmlp", merged)
        else:
            rules += plain
        rules.append(Rule(theirs + "{j}.shortcut" + unit, ours + "{j}.shortcut" + unit))
    form = "the merged (deploy)" if merged else "the training-form"
    hint = f"{form} official files load into the model built with deploy={merged}"
    return KeyMap(name, [*rules, Rule("linear.{rest}", "head.fc.{rest}")], hint=hint)


for _kind, _title in (("light", "Light"), ("bottleneck", "Bottleneck")):
    _name = f"official RepMLP-Res50-{_title}"
    OFFICIAL_KEYMAPS[f"repmlp_resnet_{_kind}"] = repmlp_resnet_keymap(_name, _kind)
    OFFICIAL_KEYMAPS[f"repmlp_resnet_{_kind}_merged"] = repmlp_resnet_keymap(f"{_name} (merged)", _kind, merged=True)
