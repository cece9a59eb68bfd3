"""`tokenmix export` rebuilds the model its checkpoint stored: a Mixer trained on 28x28 grey images exports
without --img-size, --num-classes or a channel flag, and the artifact matches eager PyTorch."""

from __future__ import annotations

import torch

from ..train.util import in_process


def test_export_uses_the_stored_size_classes_and_channels(mixer28_run, tmp_path, capsys):
    out = tmp_path / "m.pt"
    code, stdout, err = in_process(capsys, "export", "mixer_digits", "--checkpoint", mixer28_run / "model.safetensors",
                                   "--format", "torchscript", "--out", out)  # fmt: skip
    assert code == 0, err
    assert "parity OK" in stdout
    logits = torch.jit.load(str(out))(torch.zeros(2, 1, 28, 28))
    assert logits.shape == (2, 3)
