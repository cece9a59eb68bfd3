"""Character and byte-level BPE tokenizers: round trips, the [MASK] token, JSON round trip and fingerprints."""

from __future__ import annotations

import pytest

from tokenmix.lm.tokenizers import (
    MASK,
    CharTokenizer,
    TokenizerMismatch,
    check_matches,
    fingerprint,
    from_json,
    to_json,
    train_tokenizer,
)

TEXT = "First Citizen:\nBefore we proceed any further, hear me speak.\n\nAll:\nSpeak, speak.\n" * 20


@pytest.mark.parametrize("kind", ["char", "bpe"])
def test_encode_decode_round_trips_and_survives_json(kind):
    tok = train_tokenizer(kind, TEXT, 300)
    ids = tok.encode(TEXT[:200])
    assert tok.decode(ids) == TEXT[:200]
    again = from_json(to_json(tok), "test")
    assert again.encode(TEXT[:200]) == ids and fingerprint(again) == fingerprint(tok)


def test_char_vocabulary_is_the_sorted_characters_then_mask():
    tok = CharTokenizer.train("hello world")
    assert tok.vocab == [" ", "d", "e", "h", "l", "o", "r", "w", MASK] and tok.mask_id == 8
    assert tok.encode("hold") == [3, 5, 4, 1]


def test_bpe_merges_frequent_pairs_into_fewer_tokens_than_bytes():
    tok = train_tokenizer("bpe", TEXT, 320)
    assert len(tok.encode(TEXT)) < 0.5 * len(TEXT.encode())
    assert len(tok.vocab) <= 320 and tok.vocab[tok.mask_id] == MASK


@pytest.mark.parametrize("kind", ["char", "bpe"])
def test_mask_in_text_becomes_the_mask_token(kind):
    tok = train_tokenizer(kind, TEXT, 300)
    ids = tok.encode_with_masks(f"Speak, {MASK}peak.")
    assert ids.count(tok.mask_id) == 1
    assert tok.decode([i for i in ids if i != tok.mask_id]).replace(" ", "") == "Speak,peak."


def test_characters_outside_the_vocabulary_are_named():
    with pytest.raises(ValueError, match="'xz'"):
        CharTokenizer.train("abc").encode("axcz")


def test_another_tokenizer_is_refused():
    tok, other = CharTokenizer.train(TEXT), CharTokenizer.train(TEXT + "#")
    check_matches(tok, fingerprint(tok), "same", "ckpt")
    with pytest.raises(TokenizerMismatch, match="does not match"):
        check_matches(other, fingerprint(tok), "other", "ckpt")
