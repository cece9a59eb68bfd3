"""ConvMixer (Trockman & Kolter 2022, "Patches Are All You Need?", arXiv 2201.09792).

Patch embedding, then `depth` blocks of a large-kernel depthwise conv (spatial mixing, with a residual) and a
1x1 conv (channel mixing, without one), each followed by activation and then BatchNorm. Identical in the
official code and timm. The paper names models ConvMixer-h/d (width h, depth d).
"""

from __future__ import annotations

from ..config import HeadCfg, ModelCfg, StageCfg, part
from ..factory import register_model
from ..memory_format import ChannelsLast
from ..paper import PaperFacts


def convmixer(h: int, d: int, kernel: int, patch: int, act: str = "gelu") -> ModelCfg:
    stage = StageCfg(
        depth=d,
        dim=h,
        mixer=part("dwconv", kernel_size=kernel),
        norm=part("batchnorm"),
        mlp=part("pointwise"),
        block=part("convmixer", act=act),
    )
    return ModelCfg(
        stem=part("convmixer", patch_size=patch, act=act),
        stages=(stage,),
        head=HeadCfg(pool="avg"),
        init="torch_default",
    )


# No preset="official": the defaults are the official configuration (locuslab/convmixer 4704811). convmixer.py has no
# init code, dropout or drop-path; the README's train command (the vendored timm train.py) sets neither `--drop`
# (default 0) nor `--drop-path` (default None), and the vendored registrations ignore them. Their convmixer_768_32 is
# built with GELU, but the README says the released 768/32 was trained with ReLU: the paper's model, our default.

# The paper prints no MACs; mmpretrain's metafile (48.7G / 19.6G / 5.6G) is 5-6 % below a hand count and
# below torch's counter alike, so it is not used as a reference.
_SRC = "ConvMixer paper Table 1 / official README ✔ (no MACs in the paper)"

# Training in channels_last, measured (AdamW step, img/s NCHW -> channels_last). One H100, 2026-11-25:
# ConvMixer-768/32 at 224 fp32 187 -> 115 but bf16 202 -> 502; ConvMixer-256/8 at 32 fp32 12.7k -> 18.1k, bf16
# 13.3k -> 21.5k. So on CUDA every ConvMixer; on CPU see convmixer_256_8_cifar, the one measured there.
_CUDA_CHANNELS_LAST = ChannelsLast(train=("cuda",))
_reg = dict(family="convmixer", keymap="convmixer", crop_pct=0.96, channels_last=_CUDA_CHANNELS_LAST)


@register_model(paper=PaperFacts("51.6", None, "81.37", _SRC), timm_name="convmixer_1536_20", **_reg)
def convmixer_1536_20() -> ModelCfg:
    return convmixer(1536, 20, kernel=9, patch=7)


@register_model(paper=PaperFacts("21.1", None, "80.16", _SRC), timm_name="convmixer_768_32", **_reg)
def convmixer_768_32(act: str = "relu") -> ModelCfg:
    """ConvMixer-768/32 is the one variant trained with ReLU."""
    return convmixer(768, 32, kernel=7, patch=7, act=act)


@register_model(paper=PaperFacts("24.4", None, "76.94", _SRC), timm_name="convmixer_1024_20_ks9_p14", **_reg)
def convmixer_1024_20_ks9_p14() -> ModelCfg:
    return convmixer(1024, 20, kernel=9, patch=14)


# ---- small-image variants (no ImageNet figures: params/MACs/top-1 None) ------------------------------------
_CIFAR_MEAN, _CIFAR_STD = (0.4914, 0.4822, 0.4465), (0.2471, 0.2435, 0.2616)
# ConvMixer-256/8 at 32x32 on CPU (2 cores, AMD EPYC, shared: load 15 while it ran; 2026-12-02), channels_last /
# NCHW training step, median [range] of same-round ratios, `PYTHONPATH=src python bench/channels_last.py
# --models convmixer_256_8_cifar --batch 64 --rounds 7`: fp32 1.24 [0.88-1.52], bf16 1.03 [0.65-1.23]; at batch
# 128 (3 rounds) fp32 1.09 [0.95-1.82], bf16 1.03 [0.98-1.52]. On a quiet machine (cpu-performance.md §4.1)
# fp32 1.36-1.59, bf16 1.03; timm's ConvMixer-256/8 at batch 128: 29 -> 54 img/s. It wins in fp32, costs
# nothing under bf16.
_CIFAR_CHANNELS_LAST = ChannelsLast(train=("cpu", "cuda"))
_CIFAR = dict(
    family="convmixer",
    keymap="convmixer",
    mean=_CIFAR_MEAN,
    std=_CIFAR_STD,
    crop_pct=1.0,
    channels_last=_CIFAR_CHANNELS_LAST,
)
_CIFAR_SRC = "ConvMixer paper §4 / official CIFAR-10 script (h=256, d=8, k=5, p=2)"
_FAST_SRC = "tokenmix: recipe cifar10-fast (ConvMixer-256/8, k=5, p=4)"
_DIGITS_SRC = "tokenmix: the default model of `tokenmix train` (8×8 grey digits)"


@register_model(paper=PaperFacts(None, None, None, _CIFAR_SRC, img_size=32), **_CIFAR)
def convmixer_256_8_cifar() -> ModelCfg:
    """ConvMixer-256/8 as in the paper's CIFAR-10 experiments: patch 2 and kernel 5 on 32×32 images."""
    return convmixer(256, 8, kernel=5, patch=2).replace(img_size=32, num_classes=10)


@register_model(paper=PaperFacts(None, None, None, _FAST_SRC, img_size=32), **_CIFAR)
def convmixer_256_8_p4_cifar() -> ModelCfg:
    """ConvMixer-256/8 with patch 4 (8×8 tokens, a quarter of the p2 model's compute): recipe cifar10-fast."""
    return convmixer(256, 8, kernel=5, patch=4).replace(img_size=32, num_classes=10)


@register_model(
    paper=PaperFacts(None, None, None, _DIGITS_SRC, img_size=8),
    family="convmixer",
    keymap="convmixer",
    mean=(0.5,),
    std=(0.5,),
    crop_pct=1.0,
    channels_last=_CUDA_CHANNELS_LAST,
)
def convmixer_digits() -> ModelCfg:
    """A ConvMixer-64/4 with patch 1 and kernel 3 for scikit-learn's 8×8 digits: ~99 % in seconds."""
    return convmixer(64, 4, kernel=3, patch=1).replace(img_size=8, in_chans=1, num_classes=10)
