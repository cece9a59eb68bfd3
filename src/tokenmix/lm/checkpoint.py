"""Open a language model for inference from a run folder, a checkpoint directory or a .safetensors file.

A weights file written by train-lm carries everything needed to use it alone: the model name, its options,
the objective and the tokenizer (JSON) in its safetensors metadata. A tokenizer file given beside it, or the
run folder's tokenizer.json, must be the same tokenizer (same fingerprint), or it is refused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from safetensors import safe_open

from ..checkpoint import CheckpointError, is_safetensors, read_state_dict
from ..train.checkpoints import list_checkpoints
from .models import SequenceModel, create_lm
from .tokenizers import Tokenizer, check_matches, from_json, load_tokenizer

REQUIRED = ("architecture", "objective", "options", "tokenizer", "tokenizer_fingerprint")


@dataclass
class LoadedLM:
    model: SequenceModel
    tokenizer: Tokenizer
    objective: str
    path: Path  # the weights file


def weights_file(path: Path) -> Path:
    """The weights a path names: a file; a checkpoint directory's; a run folder's final or newest checkpoint."""
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist; expected a run folder, checkpoint directory or .safetensors")
    if path.is_file():
        return path
    if (path / "model.safetensors").is_file():
        return path / "model.safetensors"
    found = list_checkpoints(path / "checkpoints")
    if not found:
        raise CheckpointError(f"{path} holds no model.safetensors and no checkpoints/step-*")
    return found[-1] / "model.safetensors"


def read_metadata(path: Path) -> dict[str, str]:
    if not is_safetensors(path):
        raise CheckpointError(f"{path} is not a safetensors file; refusing to unpickle it")
    with safe_open(str(path), "pt") as f:
        meta = f.metadata() or {}
    missing = [k for k in REQUIRED if k not in meta]
    if missing:
        raise CheckpointError(f"{path} is not a tokenmix language-model checkpoint (its metadata lacks {missing})")
    return meta


def load_lm(path: Path, tokenizer_path: Path | None = None) -> LoadedLM:
    """The model (eval mode, CPU) and tokenizer a train-lm run or checkpoint holds."""
    file = weights_file(path)
    meta = read_metadata(file)
    tokenizer = from_json(meta["tokenizer"], f"the tokenizer in {file}")
    given = [tokenizer_path] if tokenizer_path is not None else []
    if path.is_dir() and (path / "tokenizer.json").is_file():  # a run folder's copy
        given.append(path / "tokenizer.json")
    for candidate in given:
        check_matches(load_tokenizer(candidate), meta["tokenizer_fingerprint"], f"tokenizer {candidate}", str(file))
    options = json.loads(meta["options"])
    causal = meta["objective"] == "causal"
    model = create_lm(meta["architecture"], len(tokenizer.vocab), causal=causal, **options)
    try:
        model.load_state_dict(read_state_dict(file))
    except RuntimeError as e:
        raise CheckpointError(f"{file} does not fit {meta['architecture']}: {str(e).splitlines()[1].strip()}") from None
    return LoadedLM(model.eval(), tokenizer, meta["objective"], file)
