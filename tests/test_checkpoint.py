"""Weights files: safetensors round trip, timm files, training-checkpoint wrappers, and refusal of anything
that is not plain weights."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import timm
import torch
from safetensors.torch import save_file

import tokenmix
from tokenmix import CheckpointError, ModelCfg
from tokenmix.checkpoint import read_metadata

from .helpers import randomize_, write_zip_bomb


class _Payload:
    """Unpickling this would create a marker file: the kind of code a malicious checkpoint carries."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.fixture
def x() -> torch.Tensor:
    return torch.randn(2, 3, 224, 224)


@torch.no_grad()
def test_safetensors_round_trip_keeps_outputs_and_config(tmp_path: Path, x: torch.Tensor) -> None:
    model = randomize_(tokenmix.create_model("resmlp_12_224")).eval()
    tokenmix.save_weights(model, tmp_path / "w.safetensors")
    loaded = tokenmix.create_model("resmlp_12_224", checkpoint_path=tmp_path / "w.safetensors").eval()
    assert torch.equal(model(x), loaded(x))
    meta = read_metadata(tmp_path / "w.safetensors")
    assert meta["architecture"] == "resmlp_12_224" and ModelCfg.from_dict(meta["config"]) == model.cfg


@torch.no_grad()
def test_timm_pth_and_timm_training_checkpoint_load(tmp_path: Path, x: torch.Tensor) -> None:
    reference = randomize_(timm.create_model("gmlp_ti16_224")).eval()
    torch.save(reference.state_dict(), tmp_path / "timm.pth")
    # timm's train.py writes this: a wrapper dict with an argparse.Namespace and DDP's "module." prefix
    wrapped = {
        "epoch": 3,
        "args": argparse.Namespace(lr=0.1),
        "state_dict": {f"module.{k}": v for k, v in reference.state_dict().items()},
    }
    torch.save(wrapped, tmp_path / "train.pth.tar")
    for name in ("timm.pth", "train.pth.tar"):
        ours = tokenmix.create_model("gmlp_ti16_224", checkpoint_path=tmp_path / name).eval()
        assert torch.equal(reference(x), ours(x))


@pytest.mark.parametrize("force_unsafe_env", [False, True])
def test_malicious_pickle_is_refused_without_running_it(tmp_path: Path, monkeypatch, force_unsafe_env: bool) -> None:
    marker = tmp_path / "pwned"
    state = tokenmix.create_model("gmlp_ti16_224").state_dict()
    torch.save({"state_dict": state, "extra": _Payload(marker)}, tmp_path / "evil.pth")
    if force_unsafe_env:  # torch would run the payload on a default torch.load under this variable
        monkeypatch.setenv("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    refused = r"holds pickled objects that are not plain weights \(it asks for .*\); refusing to unpickle it"
    with pytest.raises(CheckpointError, match=refused):
        tokenmix.create_model("gmlp_ti16_224", checkpoint_path=tmp_path / "evil.pth")
    assert not marker.exists()
    # the same pickle under a .safetensors name: refused as a broken safetensors file, never unpickled
    (tmp_path / "evil.pth").rename(tmp_path / "evil.safetensors")
    with pytest.raises(CheckpointError, match="is not a readable safetensors file"):
        tokenmix.create_model("gmlp_ti16_224", checkpoint_path=tmp_path / "evil.safetensors")
    assert not marker.exists()


def test_corrupt_and_mismatched_files_name_the_problem(tmp_path: Path) -> None:
    model = tokenmix.create_model("gmlp_ti16_224")
    tokenmix.save_weights(model, tmp_path / "w.safetensors")
    data = (tmp_path / "w.safetensors").read_bytes()
    (tmp_path / "cut.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="cut.safetensors is not a readable safetensors file"):
        tokenmix.create_model("gmlp_ti16_224", checkpoint_path=tmp_path / "cut.safetensors")
    (tmp_path / "junk.pth").write_bytes(os.urandom(1000))
    with pytest.raises(CheckpointError, match="junk.pth is not a readable PyTorch file"):
        tokenmix.create_model("gmlp_ti16_224", checkpoint_path=tmp_path / "junk.pth")
    with pytest.raises(CheckpointError, match="does not exist"):
        tokenmix.create_model("gmlp_ti16_224", checkpoint_path=tmp_path / "missing.safetensors")
    with pytest.raises(CheckpointError, match=r"does not fit gmlp_s16_224: .*shape"):
        tokenmix.create_model("gmlp_s16_224", checkpoint_path=tmp_path / "w.safetensors")
    with pytest.raises(CheckpointError, match=r"does not fit mixer_s32_224: \d+ missing .* unexpected"):
        tokenmix.create_model("mixer_s32_224", checkpoint_path=tmp_path / "w.safetensors")
    torch.save({"encoder.layer.0.weight": torch.zeros(3)}, tmp_path / "foreign.pth")
    known = r"keys are in none of the known formats \(tokenmix, mixer, mixer_jax\)"
    with pytest.raises(CheckpointError, match=known):
        tokenmix.create_model("mixer_s32_224", checkpoint_path=tmp_path / "foreign.pth")


# Loads a checkpoint with the address space capped at 256 MiB above what the imports took, and reports the
# growth of the resident set: an inflating loader either dies of the cap or shows the growth.
CAPPED_LOAD = textwrap.dedent(
    """
    import resource, sys
    import tokenmix
    from tokenmix.checkpoint import CheckpointError

    from tokenmix.counting import meta_model

    tokenmix.create_model("mixer_digits")  # imports happen lazily: all of them before the cap
    meta_model(tokenmix.model_cfg("mixer_digits"))

    def status(field):
        return int(next(l for l in open("/proc/self/status") if l.startswith(field)).split()[1]) << 10

    resource.setrlimit(resource.RLIMIT_AS, (status("VmSize") + (256 << 20), resource.RLIM_INFINITY))
    before = status("VmHWM")
    try:
        tokenmix.create_model("mixer_digits", checkpoint_path=sys.argv[1])
    except CheckpointError as e:
        print(e)
    print((status("VmHWM") - before) >> 20)
    """
)


def test_zip_bomb_pth_is_refused_before_inflating_under_a_memory_cap(tmp_path: Path) -> None:
    bomb = write_zip_bomb(tmp_path / "bomb.pth", inflated=512 << 20)
    assert bomb.stat().st_size < 1 << 20
    src = str(Path(tokenmix.__file__).parents[1])
    env = dict(os.environ, PYTHONPATH=src, OMP_NUM_THREADS="1")
    done = subprocess.run(
        [sys.executable, "-c", CAPPED_LOAD, str(bomb)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    message, grown_mib = done.stdout.strip().splitlines()
    assert message.endswith(
        "bomb.pth declares 512.3 MiB of data, more than the 18.1 MiB the model can need; refusing to read it"
    )
    assert int(grown_mib) < 64


def test_declared_sizes_over_the_budget_are_refused_in_safetensors_headers(tmp_path: Path) -> None:
    model = tokenmix.create_model("mixer_digits")
    tensors = dict(model.state_dict(), extra=torch.zeros(8 << 20))  # 32 MiB of float32 beside 0.3 MiB of weights
    save_file(tensors, tmp_path / "big.safetensors")
    with pytest.raises(
        CheckpointError, match=r"big.safetensors declares 32\.3 MiB of data, more than the 18\.1 MiB the model can need"
    ):
        tokenmix.create_model("mixer_digits", checkpoint_path=tmp_path / "big.safetensors")
    header = tmp_path / "lying.safetensors"
    header.write_bytes((10**12).to_bytes(8, "little") + b"{}")
    with pytest.raises(
        CheckpointError,
        match="is not a readable safetensors file: its header claims 1000000000000 bytes in a 10-byte file",
    ):
        tokenmix.create_model("mixer_digits", checkpoint_path=header)


@pytest.mark.parametrize("dtype", [torch.int8, torch.bool])
@pytest.mark.parametrize("suffix", [".safetensors", ".pth"])
def test_integer_or_bool_tensors_in_place_of_floats_are_refused_not_cast(tmp_path: Path, dtype, suffix) -> None:
    state = tokenmix.create_model("mixer_digits").state_dict()
    key = "stages.0.blocks.0.mlp.fc1.weight"
    state[key] = state[key].to(dtype)
    path = tmp_path / f"w{suffix}"
    save_file(state, path) if suffix == ".safetensors" else torch.save(state, path)
    name = str(dtype).removeprefix("torch.")
    with pytest.raises(
        CheckpointError,
        match=re.escape(f"tensor '{key}' is {name}, the model expects floating point (float32); refusing to cast it"),
    ):
        tokenmix.create_model("mixer_digits", checkpoint_path=path)


def test_half_precision_weights_still_load(tmp_path: Path) -> None:
    model = randomize_(tokenmix.create_model("mixer_digits")).eval()
    save_file({k: v.half() for k, v in model.state_dict().items()}, tmp_path / "half.safetensors")
    loaded = tokenmix.create_model("mixer_digits", checkpoint_path=tmp_path / "half.safetensors")
    assert torch.equal(loaded.state_dict()["head.fc.weight"], model.state_dict()["head.fc.weight"].half().float())


def test_empty_and_legacy_pth_are_refused_without_advice_to_unpickle(tmp_path: Path) -> None:
    (tmp_path / "empty.pth").write_bytes(b"")
    with pytest.raises(
        CheckpointError,
        match="empty.pth is not a readable PyTorch file: expected the zip format torch.save writes, got an empty file",
    ):
        tokenmix.create_model("mixer_digits", checkpoint_path=tmp_path / "empty.pth")
    state = tokenmix.create_model("mixer_digits").state_dict()
    torch.save(state, tmp_path / "legacy.pth", _use_new_zipfile_serialization=False)
    with pytest.raises(CheckpointError, match="legacy.pth is not a readable PyTorch file") as error:
        tokenmix.create_model("mixer_digits", checkpoint_path=tmp_path / "legacy.pth")
    assert "legacy pickles are not read" in str(error.value) and "weights_only" not in str(error.value)


def test_checkpoint_sharing_few_keys_with_the_model_is_a_format_not_known(tmp_path: Path) -> None:
    state = tokenmix.create_model("mixer_digits").state_dict()
    kept = dict(list(state.items())[:5])  # e.g. a ResNet that happens to have our stem and head names
    torch.save({**kept, **{f"layer{i}.conv.weight": torch.zeros(3) for i in range(20)}}, tmp_path / "resnet.pth")
    assert len(state) == 30
    expected = "keys are in none of the known formats (tokenmix, mixer): 5 of the model's 30 keys are in it"
    with pytest.raises(CheckpointError, match=re.escape(expected) + ".* e.g. 'layer0"):
        tokenmix.create_model("mixer_digits", checkpoint_path=tmp_path / "resnet.pth")


@pytest.mark.parametrize(
    "field, value, needle",
    [
        ("config", "{", "metadata field 'config' is not JSON"),
        ("mean", "[0.5, ", "metadata field 'mean' is not JSON"),
        ("std", "[0.0]", "metadata field 'std' should be a list of positive numbers"),
        ("classes", "[1, 2]", "metadata field 'classes' should be a list of names"),
    ],
)
def test_bad_metadata_names_the_field(tmp_path: Path, field: str, value: str, needle: str) -> None:
    save_file(tokenmix.create_model("mixer_digits").state_dict(), tmp_path / "w.safetensors", metadata={field: value})
    with pytest.raises(CheckpointError, match=needle):
        read_metadata(tmp_path / "w.safetensors")
