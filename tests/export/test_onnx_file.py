"""An exported .onnx is one file that runs alone: copied without anything beside it into another folder, it
gives eager PyTorch's logits at other batch sizes and (ConvMixer takes any size) other heights and widths, and
carries the preprocessing, class names and config of the checkpoint it came from."""

from __future__ import annotations

import shutil

import numpy as np
import onnxruntime as ort
import torch

import tokenmix
from tokenmix.checkpoint import read_metadata
from tokenmix.export.metadata import read_onnx_metadata

from ..train.util import in_process
from .conftest import digits_test_images


def test_onnx_copied_alone_runs_and_carries_its_metadata(trained_digits, tmp_path, capsys):
    out = tmp_path / "export" / "digits.onnx"
    out.parent.mkdir()
    code, stdout, err = in_process(capsys, "export", "convmixer_digits", "--checkpoint", trained_digits,
                                   "--deploy", "--out", out)  # fmt: skip
    assert code == 0, err
    assert "one self-contained file" in stdout and "dynamic batch, height and width" in stdout
    alone = tmp_path / "elsewhere" / "digits.onnx"
    alone.parent.mkdir()
    shutil.copy(out, alone)

    stored = read_metadata(trained_digits)
    meta = read_onnx_metadata(alone)
    assert meta["mean"] == stored["mean"] and meta["std"] == stored["std"]
    assert meta["classes"] == stored["classes"] == [str(i) for i in range(10)]
    assert meta["input_size"] == [1, 8, 8]
    assert meta["tokenmix_config"] == stored["config"]

    model = tokenmix.create_model("convmixer_digits", checkpoint_path=trained_digits, num_classes=10, in_chans=1,
                                  img_size=8).eval()  # fmt: skip
    session = ort.InferenceSession(str(alone), providers=["CPUExecutionProvider"])
    x, _ = digits_test_images(meta)
    resized = torch.nn.functional.interpolate(torch.from_numpy(x[:3]), size=(12, 16), mode="bilinear")
    for batch in (x[:1], x[:5], resized.numpy()):
        got = session.run(None, {"images": batch})[0]
        with torch.no_grad():
            expected = model(torch.from_numpy(batch)).numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())
    assert np.ptp(expected, axis=0).max() > 0.1  # trained: the logits depend on the image
