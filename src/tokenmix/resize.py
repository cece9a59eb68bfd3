"""Loading a checkpoint trained at another resolution into a model whose weights are sized by its token grid.

`create_model(name, img_size=N, checkpoint_path=F)` goes through here. One walker; the knowledge lives in the
parts, as in tokenmix.deploy. A part whose weights are sized by the grid says how to adapt them with

- `fit_grid(saved) -> dict`: the checkpoint's tensors under this part (keys relative to it) adapted to the
  part's own shapes, or a ConfigError saying why it cannot be done (a random matrix, a token MLP that mixes
  the class token too). Each rule is documented in its part and is the identity at the same resolution;
- `fit_args(saved) -> dict` (token mixers only): the changes to its config arguments that the adapted weights
  need before the model is built (Mixer's token-MLP width grows with the tiling).

The rules in use: block-diagonal tiling of token-mixing FCs (tokenmix.layers.grid, the Mixer paper's App. C),
bicubic interpolation of position embeddings and of GFNet's global filters.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from .config import ModelCfg
from .metaformer import MetaFormer
from .registry import MIXERS


def _under(sd: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix) :]: v for k, v in sd.items() if k.startswith(prefix)}


def fit_config(model: MetaFormer, sd: dict[str, torch.Tensor]) -> ModelCfg:
    """model.cfg with each stage's mixer arguments fitted to the checkpoint (no-op at the same size).
    `model` may be on the meta device: only its token grids are read."""
    cfg = model.cfg
    stages = list(cfg.stages)
    for s, (stage_cfg, stage) in enumerate(zip(cfg.stages, model.stages, strict=True)):
        found = _first_mixer(stage, MIXERS.get(stage_cfg.mixer.kind))
        if found is None or not hasattr(found[1], "fit_args"):
            continue
        saved = _under(sd, f"stages.{s}.{found[0]}.")
        changes = found[1].fit_args(saved) if saved else {}
        if changes:
            mixer = stage_cfg.mixer.with_args(**changes)
            stages[s] = dataclasses.replace(stage_cfg, mixer=mixer)
    return cfg.replace(stages=tuple(stages))


def _first_mixer(stage: nn.Module, mixer_cls: type) -> tuple[str, nn.Module] | None:
    """(name, module) of the stage's first token mixer of its configured kind."""
    return next(((n, m) for n, m in stage.named_modules() if isinstance(m, mixer_cls)), None)


def fit_weights(model: MetaFormer, state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The (tokenmix-keyed) checkpoint with every resolution-tied tensor adapted to `model`'s shapes by the
    outermost part on its path that has a `fit_grid` rule."""
    ours = model.state_dict()
    sd = dict(state_dict)
    pending = {k for k, v in sd.items() if k in ours and ours[k].shape != v.shape}
    for name, module in model.named_modules():  # parents first: a part adapts all of its own tensors
        prefix = f"{name}." if name else ""
        mine = {k for k in pending if k.startswith(prefix)}
        if not mine or not hasattr(module, "fit_grid"):
            continue
        sd.update({prefix + k: v for k, v in module.fit_grid(_under(sd, prefix)).items()})
        pending -= mine
    return sd  # a tensor that no part resized (another width, another class count) is named by the strict load
