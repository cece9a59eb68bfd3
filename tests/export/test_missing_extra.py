"""Without the [onnx] extra, `tokenmix export --format onnx` says how to install it: one line, exit code 2."""

from __future__ import annotations

import sys

import pytest

import tokenmix

from ..train.util import in_process


@pytest.mark.parametrize("module", ["onnxscript", "onnxruntime", "onnx"])
def test_missing_onnx_package_gives_an_install_hint(module, monkeypatch, tmp_path, capsys) -> None:
    tokenmix.save_weights(tokenmix.create_model("mixer_digits"), tmp_path / "w.safetensors")
    monkeypatch.setitem(sys.modules, module, None)  # `import module` now raises ImportError
    code, stdout, err = in_process(capsys, "export", "mixer_digits", "--checkpoint", tmp_path / "w.safetensors",
                                   "--out", tmp_path / "m.onnx")  # fmt: skip
    assert code == 2
    assert err.strip() == (
        f"tokenmix export: error: ONNX export needs {module}, which is not installed: pip install 'tokenmix[onnx]'"
    )
    assert not (tmp_path / "m.onnx").exists()
