"""The feed-forward-only ViT (Melas-Kyriazi 2021, "Do You Even Need Attention? A Stack of Feed-Forward Layers
Does Surprisingly Well on ImageNet", arXiv 2105.02723; code lukemelas/do-you-even-need-attention).

ViT with each attention layer replaced by a feed-forward layer over the token axis. Unlike Mixer, each block
runs the channel MLP first; the token MLP covers all tokens *including the class token* (197 at 224 px,
hidden 4 x 197) after a LayerNorm over the token axis. The class token, learned position embedding and
class-token head stay.

Official weights load through the `ffonly_official` key map (tokenmix.convert.official): the official position
embedding is a (1, C, 14, 14) map plus a separate class-token embedding (interpolated to 7 x 7 for the large /32
model at every forward); ours is ViT's (1, N, C), joined from the two once at loading.
"""

from __future__ import annotations

from ..config import HeadCfg, ModelCfg, StageCfg, part
from ..factory import register_model
from ..paper import PaperFacts

# README table / official `linear_{tiny,base,large}`: width, depth, patch.
SIZES = {"tiny": (192, 12, 16), "base": (768, 12, 16), "large": (1024, 24, 32)}


def ffonly(size: str, cls_token_std: float = 1e-6) -> ModelCfg:
    dim, depth, patch = SIZES[size]
    norm = part("layernorm", eps=1e-6)
    stage = StageCfg(
        depth,
        dim,
        mixer=part("token_ff", ratio=4.0),
        norm=norm,
        mlp=part("mlp", ratio=4.0),
        block=part("channel_first"),
    )
    return ModelCfg(
        stem=part("vit", patch_size=patch, cls_token_std=cls_token_std),
        stages=(stage,),
        head=HeadCfg(pool="token", feature_norm=norm),
        init="trunc_normal_linear",
    )


_SRC = "do-you-even-need-attention README and paper Table 1 ✔"
_LARGE = "the official large model keeps a 14x14 position map and interpolates it to 7x7; ours is 7x7 (-0.15M)"
# preset="official" (lukemelas/do-you-even-need-attention 1f57ab0, vision_transformer_linear.py): the class token
# trunc_normal(0.02) (ours, as timm's ViT, N(0, 1e-6)); Linears, position embedding and LayerNorms as our
# default. Training runs DeiT's main.py, whose `--drop-path` default 0.1 the README's command keeps (linear
# schedule). Its `--drop 0.1` (dropout after the position embedding and in every MLP) is not modelled here.
OFFICIAL = dict(cls_token_std=0.02, drop_path_rate=0.1)
_reg = dict(family="ffonly", official_keymaps=("ffonly_official",), official=OFFICIAL)


@register_model(paper=PaperFacts("7.7", None, "61.4", _SRC), **_reg)
def ffonly_tiny_patch16_224(cls_token_std: float = 1e-6) -> ModelCfg:
    return ffonly("tiny", cls_token_std)


@register_model(paper=PaperFacts("62", None, "74.9", _SRC), **_reg)
def ffonly_base_patch16_224(cls_token_std: float = 1e-6) -> ModelCfg:
    return ffonly("base", cls_token_std)


@register_model(paper=PaperFacts("206", None, "71.4", _SRC, deviation=_LARGE), **_reg)
def ffonly_large_patch32_224(cls_token_std: float = 1e-6) -> ModelCfg:
    return ffonly("large", cls_token_std)
