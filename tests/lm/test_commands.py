"""train-lm, generate and fill-mask end to end on tiny models trained on one repeated sentence, where the right
continuation and the right filling are known; and every bad input as one line with exit code 2."""

from __future__ import annotations

import json
import shutil

import pytest

from tokenmix.lm.tokenizers import CharTokenizer, to_json

from ..train.util import in_process, popen
from .corpus import PANGRAM, pangrams, words

TRAIN = ("--model", "gmlp_lm_nano", "--context", "32", "--batch-size", "16", "--steps", "200", "--lr", "3e-3",
         "--threads", "1", "--set", "warmup_steps=20", "--set", "eval_every=100", "--set", "log_every=100")  # fmt: skip


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """(causal run, masked-LM run) of gmlp_lm_nano on the pangram, trained side by side."""
    root = tmp_path_factory.mktemp("lm")
    data = pangrams(root / "pangram.txt")
    procs = {
        objective: popen("train-lm", "--data", data, "--objective", objective, *TRAIN, "--output", root / objective)
        for objective in ("causal", "mlm")
    }
    procs["bpe"] = popen("train-lm", "--data", words(root / "words.txt"), "--objective", "mlm", "--tokenizer", "bpe",
                         "--set", "bpe_vocab_size=300", "--model", "amlp_lm_nano", "--steps", "10", "--context", "16",
                         "--threads", "1", "--output", root / "bpe")  # fmt: skip
    for proc in procs.values():
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        assert "validation loss" in out
    return root / "causal", root / "mlm"


def test_a_bpe_run_keeps_its_tokenizer_and_fills_masks_in_tokens(capsys, runs):
    bpe = runs[0].parent / "bpe"
    saved = json.loads((bpe / "tokenizer.json").read_text())
    assert saved["kind"] == "bpe" and len(saved["tokenizer"]["model"]["vocab"]) == 300
    out = output_of(capsys, "fill-mask", bpe, "to be or [MASK] to be", "--top-k", "2")
    assert len(out.strip().splitlines()) == 1 and out.startswith("[MASK] 1: ")


def test_a_run_folder_has_everything(runs):
    causal, _ = runs
    for name in ("config.json", "tokenizer.json", "split.json", "metrics.csv", "summary.json", "curves.png",
                 "model.safetensors", "tb"):  # fmt: skip
        assert (causal / name).exists(), name
    split = json.loads((causal / "split.json").read_text())
    assert split["val"] == int(len(PANGRAM) * 300 * 0.1) and split["train"] + split["val"] == len(PANGRAM) * 300
    summary = json.loads((causal / "summary.json").read_text())
    assert summary["final_val_loss"] < 0.2  # the sentence is learnt: ln(28) = 3.3 at chance
    assert len((causal / "metrics.csv").read_text().splitlines()) == 1 + 2


def output_of(capsys, *args) -> str:
    code, out, err = in_process(capsys, *args)  # inference changes no global torch state
    assert code == 0, err
    return out


def test_greedy_generation_continues_the_sentence(capsys, runs):
    causal, _ = runs
    out = output_of(capsys, "generate", causal, "--prompt", "the quick", "--tokens", "60", "--temperature", "0")
    assert out.startswith("the quick brown fox jumps over the lazy dog. the quick brown fox")


def test_top_1_sampling_is_greedy_and_a_seed_repeats(capsys, runs):
    causal, _ = runs
    args = ("generate", causal, "--prompt", "lazy", "--tokens", "30")
    greedy = output_of(capsys, *args, "--temperature", "0")
    top1 = output_of(capsys, *args, "--top-k", "1")
    hot = [output_of(capsys, *args, "--temperature", "5", "--seed", "3") for _ in range(2)]
    assert top1 == greedy and hot[0] == hot[1] != greedy


def test_fill_mask_finds_the_missing_letters(capsys, runs):
    _, mlm = runs
    out = output_of(capsys, "fill-mask", mlm / "model.safetensors", "br[MASK]wn fox jumps over the l[MASK]zy")
    lines = out.strip().splitlines()
    assert lines[0].startswith("[MASK] 1: 'o'") and lines[1].startswith("[MASK] 2: 'a'"), out


def error_of(capsys, *args) -> str:
    code, _, err = in_process(capsys, *args)
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    return err


def test_bad_text_files_are_one_line_errors(capsys, tmp_path):
    (tmp_path / "empty.txt").write_text("  \n")
    (tmp_path / "binary.txt").write_bytes(b"PK\x03\x04\x00\x00binary")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    for name, expected in (("empty", "is empty"), ("binary", "is binary"), ("latin1", "not UTF-8")):
        err = error_of(capsys, "train-lm", "--data", tmp_path / f"{name}.txt", "--output", tmp_path / "run")
        assert expected in err
    assert "does not exist" in error_of(capsys, "train-lm", "--data", tmp_path / "missing.txt")
    assert not (tmp_path / "run").exists()


def test_bad_config_values_are_one_line_errors(capsys, tmp_path):
    data = pangrams(tmp_path / "p.txt", 50)
    cases = (
        (("--steps", "0"), "steps must be >= 1"),
        (("--objective", "mlp"), "objective must be one of causal, mlm"),
        (("--set", "lr=fast"), "lr: expected float"),
        (("--set", "learning_rate=1"), "unknown config key 'learning_rate'"),
        (("--model", "gmlp_lm_huge"), "unknown language model 'gmlp_lm_huge'"),
        (("--model", "transformer_lm_nano", "--token-weights", "dense"), "has no option(s) ['token_weights']"),
        (("--context", "1000"), "fewer than one window"),
    )
    for args, expected in cases:
        assert expected in error_of(capsys, "train-lm", "--data", data, *args, "--output", tmp_path / "r")


def test_inference_refuses_bad_requests(capsys, runs, tmp_path):
    causal, mlm = runs
    other = tmp_path / "other.json"
    other.write_text(to_json(CharTokenizer.train("abc")))
    assert "does not match" in error_of(capsys, "generate", causal, "--tokenizer", other)
    tampered = tmp_path / "tampered"
    shutil.copytree(mlm, tampered)
    (tampered / "tokenizer.json").write_text(to_json(CharTokenizer.train(PANGRAM + "!")))
    assert "does not match" in error_of(capsys, "fill-mask", tampered, "the [MASK]uick")
    assert "at least one [MASK]" in error_of(capsys, "fill-mask", mlm, "no mask here")
    assert "longer than the model's context of 32" in error_of(capsys, "fill-mask", mlm, PANGRAM + "[MASK]")
    assert "needs a causal language model" in error_of(capsys, "generate", mlm)
    assert "needs a masked language model" in error_of(capsys, "fill-mask", causal, "the [MASK]uick")
    assert "not in the tokenizer's vocabulary" in error_of(capsys, "generate", causal, "--prompt", "QUICK")
    (tmp_path / "fake.safetensors").write_bytes(b"\x80\x04not a safetensors file")
    assert "refusing to unpickle" in error_of(capsys, "generate", tmp_path / "fake.safetensors")
