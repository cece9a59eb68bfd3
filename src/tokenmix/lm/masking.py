"""BERT's masked-LM corruption (Devlin et al. 2019, Sec. 3.1 and A.1): 15 % of the positions are chosen as
targets; of those, 80 % become [MASK], 10 % a random token and 10 % stay as they are. The model is scored only
at the chosen positions. Every draw comes from the generator passed in, so a batch's masks are a function of
(seed, step) like the batch itself."""

from __future__ import annotations

import torch

IGNORE = -100  # target value at positions that are not scored (F.cross_entropy's ignore_index)


def mask_tokens(
    tokens: torch.Tensor,
    mask_id: int,
    vocab_size: int,
    generator: torch.Generator,
    rate: float = 0.15,
    mask_share: float = 0.8,
    random_share: float = 0.1,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(inputs, targets) for token ids (B, N). A random replacement is any id of the vocabulary but the mask's
    itself (uniform); targets are IGNORE except at the chosen positions."""
    chosen = torch.rand(tokens.shape, generator=generator) < rate
    kind = torch.rand(tokens.shape, generator=generator)  # < 0.8: [MASK]; < 0.9: random; else kept
    random_ids = torch.randint(vocab_size - 1, tokens.shape, generator=generator)
    random_ids += random_ids >= mask_id  # skip the mask id
    inputs = torch.where(chosen & (kind < mask_share), mask_id, tokens)
    replace = chosen & (kind >= mask_share) & (kind < mask_share + random_share)
    inputs = torch.where(replace, random_ids, inputs)
    return inputs, torch.where(chosen, tokens, IGNORE)
