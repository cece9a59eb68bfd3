"""tokenmix: the token-mixer family of vision networks as configurations of one MetaFormer skeleton.

The public names below are imported at their first use (PEP 562 module `__getattr__`), so `import tokenmix`
and `tokenmix --help` cost milliseconds and torch is imported only when a model, config or checkpoint is used.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> the module that defines it
_PUBLIC = {
    "CheckpointError": "checkpoint",
    "load_checkpoint": "checkpoint",
    "read_state_dict": "checkpoint",
    "save_weights": "checkpoint",
    "ConfigError": "config",
    "HeadCfg": "config",
    "ModelCfg": "config",
    "Part": "config",
    "StageCfg": "config",
    "part": "config",
    "deploy": "deploy",
    "fuse": "deploy",
    "create_model": "factory",
    "list_models": "factory",
    "model_cfg": "factory",
    "MetaFormer": "metaformer",
    "UnknownNameError": "registry",
    "reparameterize": "reparam",
}
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


def __getattr__(name: str) -> Any:
    """A public name from its module, or a submodule (`tokenmix.registry`), imported now and kept."""
    if name in _PUBLIC:
        value = getattr(importlib.import_module(f".{_PUBLIC[name]}", __name__), name)
    elif name.startswith("__"):
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    else:
        try:
            value = importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as e:
            if e.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    globals()[name] = value
    return value


class _Package(types.ModuleType):
    """Importing the submodule tokenmix.deploy makes the import system bind the *module* as `tokenmix.deploy`,
    hiding the function of that name from __getattr__ (`tokenmix.deploy(model)` then fails with 'module object
    is not callable'); that one binding is refused, the submodule stays in sys.modules."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _PUBLIC and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __dir__() -> list[str]:
    return [*__all__, "__version__"]


if TYPE_CHECKING:  # what type checkers and IDEs see; at run time __getattr__ imports these on first use
    from .checkpoint import CheckpointError, load_checkpoint, read_state_dict, save_weights
    from .config import ConfigError, HeadCfg, ModelCfg, Part, StageCfg, part
    from .deploy import deploy, fuse
    from .factory import create_model, list_models, model_cfg
    from .metaformer import MetaFormer
    from .registry import UnknownNameError
    from .reparam import reparameterize
