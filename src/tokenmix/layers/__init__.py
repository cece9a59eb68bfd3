"""Shared parts. Importing this package registers every part kind (see tokenmix.registry)."""

from . import acts, blocks, conv_bn, mixers, mlp, norms, stems  # noqa: F401
from .build import build, to_layout  # noqa: F401
