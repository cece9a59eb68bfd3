"""Tokenizers: characters (the default, as nanoGPT's Shakespeare) or a byte-level BPE trained on the corpus
with Hugging Face `tokenizers`. Either is one JSON document, saved in the run folder and inside every weights
file's metadata, and named by a fingerprint (sha256 of that JSON), so a checkpoint refuses a tokenizer that
is not the one it was trained with.

MASK is the masked-LM token; it is in every vocabulary, so one tokenizer serves both objectives.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

MASK = "[MASK]"
KINDS = ("char", "bpe")


class TokenizerMismatch(ValueError):
    """A tokenizer that is not the one a checkpoint was trained with."""


class CharTokenizer:
    """One id per character of the corpus (sorted), then the special tokens."""

    kind = "char"

    def __init__(self, chars: list[str]) -> None:
        self.vocab = [*chars, MASK]
        self.ids = {c: i for i, c in enumerate(chars)}
        self.mask_id = len(chars)

    @staticmethod
    def train(text: str) -> CharTokenizer:
        return CharTokenizer(sorted(set(text)))

    def encode(self, text: str) -> list[int]:
        unknown = sorted(set(text) - self.ids.keys())
        if unknown:
            raise ValueError(f"characters not in the tokenizer's vocabulary: {''.join(unknown)!r}")
        return [self.ids[c] for c in text]

    def encode_with_masks(self, text: str) -> list[int]:
        """Text in which the literal MASK string stands for the mask token."""
        out: list[int] = []
        for i, piece in enumerate(text.split(MASK)):
            out += ([self.mask_id] if i else []) + self.encode(piece)
        return out

    def decode(self, ids: list[int]) -> str:
        return "".join(self.vocab[i] for i in ids)

    def to_dict(self) -> dict[str, Any]:
        return dict(kind=self.kind, chars=self.vocab[:-1])


class BpeTokenizer:
    """Byte-level BPE (GPT-2's pre-tokenizer and byte alphabet), trained on the corpus by `tokenizers`."""

    kind = "bpe"

    def __init__(self, hf) -> None:
        self.hf = hf
        self.mask_id = hf.token_to_id(MASK)
        self.vocab = [hf.id_to_token(i) for i in range(hf.get_vocab_size())]

    @staticmethod
    def train(text: str, vocab_size: int) -> BpeTokenizer:
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

        hf = Tokenizer(models.BPE())
        hf.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        hf.decoder = decoders.ByteLevel()
        trainer = trainers.BpeTrainer(
            vocab_size=vocab_size,
            special_tokens=[MASK],
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # every byte encodes, seen in training or not
            show_progress=False,
        )
        hf.train_from_iterator(text.splitlines(keepends=True), trainer)
        return BpeTokenizer(hf)

    def encode(self, text: str) -> list[int]:
        return self.hf.encode(text).ids

    def encode_with_masks(self, text: str) -> list[int]:
        return self.encode(text)  # MASK is a special token: the tokenizer splits it out itself

    def decode(self, ids: list[int]) -> str:
        return self.hf.decode(ids, skip_special_tokens=False)

    def to_dict(self) -> dict[str, Any]:
        return dict(kind=self.kind, tokenizer=json.loads(self.hf.to_str()))


Tokenizer = CharTokenizer | BpeTokenizer


def train_tokenizer(kind: str, text: str, bpe_vocab_size: int) -> Tokenizer:
    if kind == "char":
        return CharTokenizer.train(text)
    return BpeTokenizer.train(text, bpe_vocab_size)


def to_json(tokenizer: Tokenizer) -> str:
    return json.dumps(tokenizer.to_dict(), sort_keys=True, ensure_ascii=False)


def fingerprint(tokenizer: Tokenizer) -> str:
    return hashlib.sha256(to_json(tokenizer).encode()).hexdigest()[:16]


def from_json(text: str, source: str) -> Tokenizer:
    try:
        d = json.loads(text)
        if d.get("kind") == "char":
            return CharTokenizer(list(d["chars"]))
        if d.get("kind") == "bpe":
            from tokenizers import Tokenizer as HfTokenizer

            return BpeTokenizer(HfTokenizer.from_str(json.dumps(d["tokenizer"])))
    except Exception as e:  # json, a missing key, or the tokenizers library's own (bare) Exception
        raise ValueError(f"{source} is not a tokenmix tokenizer: {str(e).splitlines()[0]}") from None
    raise ValueError(f"{source} is not a tokenmix tokenizer: expected kind 'char' or 'bpe', got {d.get('kind')!r}")


def load_tokenizer(path: Path) -> Tokenizer:
    if not path.is_file():
        raise FileNotFoundError(f"tokenizer {path} does not exist")
    return from_json(path.read_text(encoding="utf-8"), f"tokenizer {path}")


def check_matches(tokenizer: Tokenizer, expected: str, source: str, checkpoint: str) -> None:
    """Refuse a tokenizer whose fingerprint is not the one the checkpoint was trained with."""
    got = fingerprint(tokenizer)
    if got != expected:
        raise TokenizerMismatch(
            f"{source} ({tokenizer.kind}, {len(tokenizer.vocab)} tokens, fingerprint {got}) does not match "
            f"the tokenizer {checkpoint} was trained with (fingerprint {expected})"
        )
