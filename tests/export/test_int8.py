"""int8: the static (calibrated) onnxruntime quantization of a trained digits ConvMixer keeps the fp32 class on
>= 99.5 % of the 360 digits test images, measured here on the file alone, preprocessed from its metadata."""

from __future__ import annotations

import onnx
import onnxruntime as ort
import torch

import tokenmix
from tokenmix.export.metadata import read_onnx_metadata

from ..train.util import in_process
from .conftest import digits_test_images


def test_int8_export_of_trained_digits_model_agrees_with_fp32(trained_digits, tmp_path, capsys):
    out = tmp_path / "digits-int8.onnx"
    code, stdout, err = in_process(capsys, "export", "convmixer_digits", "--checkpoint", trained_digits, "--deploy",
                                   "--quantize", "int8", "--data", "digits", "--exporter", "torchscript",
                                   "--out", out)  # fmt: skip
    assert code == 0, stdout + err
    assert "static quantization" in stdout
    ops = {node.op_type for node in onnx.load(str(out)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops  # really int8, not the fp32 graph renamed

    meta = read_onnx_metadata(out)
    assert meta["quantization"] == "int8 static"
    x, y = digits_test_images(meta)
    got = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(None, {"images": x})[0].argmax(-1)
    model = tokenmix.create_model("convmixer_digits", checkpoint_path=trained_digits, num_classes=10, in_chans=1,
                                  img_size=8).eval()  # fmt: skip
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).argmax(-1).numpy()
    assert len(x) == 360
    assert (got == expected).mean() >= 0.995
    assert (expected == y).mean() > 0.8  # a trained model, not near-tied logits
