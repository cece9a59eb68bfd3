"""Hub-style folders: save_pretrained -> from_pretrained round-trips every family; timm loads the folders of the
models it has; a Hub name goes through huggingface_hub (mocked here: the tests never touch the network)."""

from __future__ import annotations

import json
from pathlib import Path

import huggingface_hub
import pytest
import timm
import torch

import tokenmix
from tokenmix.checkpoint import save_weights
from tokenmix.factory import MODELS
from tokenmix.hub import from_pretrained, push_to_hub, save_pretrained


def _smallest_per_family() -> list[str]:
    def params(name: str) -> float:
        printed = MODELS.get(name).paper.params_m
        return float(printed) if printed else float("inf")

    best: dict[str, str] = {}
    for name in MODELS.names():
        family = MODELS.get(name).family
        if family not in best or params(name) < params(best[family]):
            best[family] = name
    return sorted(best.values())


def _logits(model: torch.nn.Module, seed: int = 0) -> torch.Tensor:
    shape = tuple(model.pretrained_cfg["input_size"])  # timm's models and ours both say it there
    with torch.no_grad():
        return model.eval()(torch.randn(1, *shape, generator=torch.Generator().manual_seed(seed)))


@pytest.mark.parametrize("name", _smallest_per_family())
def test_save_and_from_pretrained_round_trip(name: str, tmp_path: Path) -> None:
    model = tokenmix.create_model(name, num_classes=5)
    torch.manual_seed(1)
    for p in model.parameters():  # away from the init, so a head or norm left at its init would show
        p.data.add_(torch.randn_like(p) * 0.02)
    save_pretrained(model, tmp_path, label_names=list("abcde"))
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["num_classes"] == 5 and config["label_names"] == list("abcde")
    assert config["pretrained_cfg"]["mean"] == list(model.pretrained_cfg["mean"])
    loaded = from_pretrained(tmp_path)
    assert loaded.cfg == model.cfg and loaded.pretrained_cfg["label_names"] == list("abcde")
    torch.testing.assert_close(_logits(loaded), _logits(model), rtol=0, atol=0)


@pytest.mark.parametrize("name", ["resmlp_12_224", "poolformer_s12", "convmixer_768_32"])
def test_timm_builds_its_own_model_from_the_folder(name: str, tmp_path: Path) -> None:
    model = tokenmix.create_model(name, num_classes=3)
    save_pretrained(model, tmp_path)
    theirs = timm.create_model(f"local-dir:{tmp_path}", pretrained=True)
    assert type(theirs).__module__.startswith("timm.models.")  # timm's class, not a registered tokenmix one
    torch.testing.assert_close(_logits(theirs), _logits(model), atol=1e-5, rtol=1e-5)


def test_timm_builds_registered_tokenmix_models_from_the_folder(tmp_path: Path) -> None:
    import tokenmix.timm_compat  # noqa: F401  (registers tokenmix_<name>)

    model = tokenmix.create_model("gfnet_xs", num_classes=3)  # no timm counterpart: tokenmix keys
    save_pretrained(model, tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["architecture"] == "tokenmix_gfnet_xs"
    torch.testing.assert_close(_logits(timm.create_model(f"local-dir:{tmp_path}", pretrained=True)), _logits(model))


def test_hub_name_downloads_through_huggingface_hub(tmp_path: Path, monkeypatch) -> None:
    model = tokenmix.create_model("mixer_s32_224", num_classes=4)
    calls = []

    def upload_folder(self, repo_id: str, folder_path: str, commit_message: str) -> str:
        calls.append(("upload", repo_id, sorted(p.name for p in Path(folder_path).iterdir())))
        for f in Path(folder_path).iterdir():  # the "Hub": a folder that snapshot_download hands back
            (tmp_path / f.name).write_bytes(f.read_bytes())
        return "https://huggingface.co/org/tiny/commit/0"

    def snapshot_download(repo_id: str, revision: str | None, allow_patterns: list[str]) -> str:
        calls.append(("download", repo_id, revision))
        return str(tmp_path)

    monkeypatch.setattr(huggingface_hub.HfApi, "create_repo", lambda self, repo_id, **kw: calls.append(("create",)))
    monkeypatch.setattr(huggingface_hub.HfApi, "upload_folder", upload_folder)
    monkeypatch.setattr(huggingface_hub, "snapshot_download", snapshot_download)
    push_to_hub(model, "org/tiny")
    loaded = tokenmix.create_model("hf_hub:org/tiny@v1")
    assert calls == [
        ("create",),
        ("upload", "org/tiny", ["config.json", "model.safetensors"]),
        ("download", "org/tiny", "v1"),
    ]
    torch.testing.assert_close(_logits(loaded), _logits(model))


def test_a_run_folder_is_a_model_folder_and_fine_tunes_onto_other_classes(tmp_path: Path, caplog) -> None:
    model = tokenmix.create_model("convmixer_digits")  # what `tokenmix train` writes: weights with metadata
    save_weights(model, tmp_path / "model.safetensors")
    (tmp_path / "config.json").write_text(json.dumps({"model": "convmixer_digits", "epochs": 10}))  # training cfg
    torch.testing.assert_close(_logits(tokenmix.create_model(str(tmp_path))), _logits(model))
    tuned = tokenmix.create_model("convmixer_digits", checkpoint_path=str(tmp_path), num_classes=3)
    assert "a new one for 3 classes" in caplog.text and tuned.num_classes == 3
    trunk = {k: v for k, v in model.state_dict().items() if not k.startswith("head.fc.")}
    assert all(torch.equal(tuned.state_dict()[k], v) for k, v in trunk.items())
