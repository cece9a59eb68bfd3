"""Every model family, one file each. Importing this package registers all variants."""

from . import convmixer, ffonly, gfnet, gmlp, hybrid, metaformer_baselines, mixer, poolformer, resmlp, vit  # noqa: F401
