"""tokenmix: the token-mixer family of vision networks as configurations of one MetaFormer skeleton."""

from . import layers, models  # noqa: F401  (register every part and model)
from .checkpoint import CheckpointError, load_checkpoint, read_state_dict, save_weights
from .config import ConfigError, HeadCfg, ModelCfg, Part, StageCfg, part
from .deploy import deploy, fuse
from .factory import create_model, list_models, model_cfg
from .metaformer import MetaFormer
from .registry import UnknownNameError
from .reparam import reparameterize

__version__ = "0.1.0"
__all__ = [
    "CheckpointError",
    "ConfigError",
    "HeadCfg",
    "MetaFormer",
    "ModelCfg",
    "Part",
    "StageCfg",
    "UnknownNameError",
    "create_model",
    "deploy",
    "fuse",
    "list_models",
    "load_checkpoint",
    "model_cfg",
    "part",
    "read_state_dict",
    "reparameterize",
    "save_weights",
]
