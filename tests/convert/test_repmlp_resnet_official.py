"""Checkpoints of DingXiaoH/RepMLP `repmlp_resnet.py` (training form, before 82c0ea6) load. Reference: key names
and shapes of the official modules, written out here (stage0 = stem; stage{s}.{j} blocks; the RepMLP blocks'
light_*/btnk_* parts; RepMLP's fc1_fc2.fc1, avg.bn, fc3 in groups, repconv{k}; `linear` classifier)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

import tokenmix
from tokenmix.convert import KEYMAPS

OFFICIAL_KEYS = {
    "light": {
        "stage0.0.conv.weight": (64, 3, 7, 7),
        "stage0.0.bn.running_var": (64,),
        "stage2.0.conv2.conv.weight": (128, 128, 3, 3),  # the striding first block stays a plain ResNet block
        "stage2.0.shortcut.bn.weight": (512,),
        "stage2.1.light_conv1.conv.weight": (64, 512, 1, 1),  # C / 8
        "stage2.1.light_repmlp.fc1_fc2.fc1.weight": (1024, 1024),  # 64 channels x 4 x 4 partitions (28 / 7)
        "stage2.1.light_repmlp.avg.bn.running_mean": (64,),
        "stage3.2.light_repmlp.fc3.weight": (6272, 1568, 1, 1),  # 128 x 7 x 7, in 4 groups
        "stage3.2.light_repmlp.fc3_bn.weight": (6272,),
        "stage3.5.light_repmlp.repconv5.conv.weight": (128, 32, 5, 5),
        "stage3.5.light_conv3.bn.bias": (1024,),
        "stage4.2.conv3.conv.weight": (2048, 512, 1, 1),
        "linear.weight": (1000, 2048),
    },
    "bottleneck": {
        "stage2.1.btnk_conv1.conv.weight": (128, 512, 1, 1),
        "stage2.1.btnk_conv2.conv.weight": (64, 128, 3, 3),  # r = 2
        "stage3.1.btnk_conv2.conv.weight": (64, 256, 3, 3),  # r = 4
        "stage3.1.btnk_repmlp.fc3.weight": (3136, 392, 1, 1),  # 64 x 7 x 7, in 8 groups
        "stage3.1.btnk_conv4.bn.weight": (256,),
        "stage3.1.btnk_conv5.conv.weight": (1024, 256, 1, 1),
    },
}


@pytest.mark.parametrize("kind", ["light", "bottleneck"])
@torch.no_grad()
def test_official_repmlp_resnet_checkpoint_loads(kind: str, tmp_path: Path) -> None:
    ours = tokenmix.create_model(f"repmlp_resnet50_{kind}")
    for t in ours.state_dict().values():
        if t.is_floating_point():
            t.normal_()
    official = KEYMAPS[f"repmlp_resnet_{kind}"].to_theirs(ours.state_dict())
    for key, shape in OFFICIAL_KEYS[kind].items():
        assert tuple(official[key].shape) == shape, key
    torch.save(official, tmp_path / "official.pth")
    loaded = tokenmix.create_model(f"repmlp_resnet50_{kind}", checkpoint_path=tmp_path / "official.pth")
    assert all(torch.equal(v, loaded.state_dict()[k]) for k, v in ours.state_dict().items())
