"""Using a trained language model: sampling a continuation (causal) and filling in [MASK]s (masked LM)."""

from __future__ import annotations

import torch

from .models import SequenceModel
from .tokenizers import MASK, Tokenizer


@torch.no_grad()
def generate(
    model: SequenceModel, ids: list[int], new_tokens: int, temperature: float, top_k: int | None, seed: int
) -> list[int]:
    """`new_tokens` ids sampled one at a time after `ids`, each from the model's distribution at the last
    position (the last `context` tokens in view), divided by temperature and cut to the top_k most likely.
    temperature 0 is greedy."""
    gen = torch.Generator().manual_seed(seed)
    out = list(ids)
    for _ in range(new_tokens):
        logits = model(torch.tensor([out[-model.context :]]))[0, -1].float()  # (vocab,)
        if temperature == 0:
            out.append(int(logits.argmax()))
            continue
        logits = logits / temperature
        if top_k is not None and top_k < len(logits):
            logits[logits < logits.topk(top_k).values[-1]] = -float("inf")
        out.append(int(torch.multinomial(logits.softmax(-1), 1, generator=gen)))
    return out


@torch.no_grad()
def fill_mask(model: SequenceModel, tokenizer: Tokenizer, text: str, top_k: int) -> list[list[tuple[str, float]]]:
    """For each [MASK] in text, left to right: the top_k (token, probability) predictions."""
    ids = tokenizer.encode_with_masks(text)
    positions = [i for i, t in enumerate(ids) if t == tokenizer.mask_id]
    if not positions:
        raise ValueError(f"expected a sentence with at least one {MASK}, got {text!r}")
    if len(ids) > model.context:
        raise ValueError(f"the sentence is {len(ids)} tokens long, longer than the model's context of {model.context}")
    probs = model(torch.tensor([ids]))[0, positions].float().softmax(-1)  # (masks, vocab)
    top = probs.topk(min(top_k, probs.shape[-1]), dim=-1)
    return [
        [(tokenizer.decode([int(i)]), float(p)) for p, i in zip(ps, idx, strict=True)]
        for ps, idx in zip(top.values, top.indices, strict=True)
    ]
