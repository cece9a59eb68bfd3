"""Two nodes simulated on localhost: two torchrun launchers with --nnodes 2 and a c10d rendezvous, one process
each, train the same weights as one `--standalone --nproc_per_node 2` launcher (the multi-node path of the
README's cluster section, on gloo)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys

from .util import env, weights

ARGS = ("-m", "tokenmix", "train", "--model", "mixer_digits", "--epochs", "1", "--opt", "sgd", "--lr", "0.05")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _launch(launcher: list[str], out) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "torch.distributed.run", *launcher, *ARGS, "--output", str(out)]
    return subprocess.Popen(cmd, env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_two_c10d_nodes_train_like_one_two_process_node(tmp_path):
    rdzv = ["--nnodes", "2", "--nproc_per_node", "1", "--rdzv_backend", "c10d"]
    rdzv += ["--rdzv_endpoint", f"127.0.0.1:{_free_port()}", "--rdzv_id", "tokenmix-test"]
    shared = tmp_path / "shared-run"  # the shared file system both nodes write and read
    nodes = [_launch(rdzv, shared) for _ in range(2)]
    results = [node.communicate(timeout=240) for node in nodes]
    for node, (_, err) in zip(nodes, results, strict=True):
        assert node.returncode == 0, err[-3000:]
    one_node = _launch(["--standalone", "--nproc_per_node", "2"], tmp_path / "one-node")
    _, err = one_node.communicate(timeout=240)
    assert one_node.returncode == 0, err[-3000:]
    assert json.loads((shared / "summary.json").read_text())["world"] == 2
    ours, reference = weights(shared / "model.safetensors"), weights(tmp_path / "one-node" / "model.safetensors")
    assert ours.keys() == reference.keys()
    for k in ours:  # the same ranks, batches and reduction: only the launcher differs
        assert (ours[k] - reference[k]).abs().max().item() < 1e-6, k
