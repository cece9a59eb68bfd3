"""BERT's masking on a large sample: 15 % of positions scored; of those 80 % [MASK], 10 % a random token,
10 % kept (Devlin et al. 2019, Sec. 3.1); the rest unchanged and unscored."""

from __future__ import annotations

import torch

from tokenmix.data.seeds import generator
from tokenmix.lm.masking import IGNORE, mask_tokens

V, MASK_ID = 1000, 999


def test_masking_statistics_match_bert_on_half_a_million_tokens():
    tokens = torch.randint(V - 1, (1000, 512), generator=torch.Generator().manual_seed(1))
    inputs, targets = mask_tokens(tokens, MASK_ID, V, generator(0, "test"))
    chosen = targets != IGNORE
    n = chosen.sum().item()
    # 4 binomial standard deviations: 0.0020 for the 15 %, 0.0058 for the 80 % on ~77k chosen positions
    assert abs(n / tokens.numel() - 0.15) < 0.002
    masked = (inputs[chosen] == MASK_ID).float().mean().item()
    kept = (inputs[chosen] == tokens[chosen]).float().mean().item()
    assert abs(masked - 0.8) < 0.006
    assert abs(kept - (0.1 + 0.1 / (V - 1))) < 0.005  # a random token equals the original 1 time in V - 1
    assert abs(1 - masked - kept - 0.1 * (1 - 1 / (V - 1))) < 0.005
    assert torch.equal(targets[chosen], tokens[chosen])
    assert torch.equal(inputs[~chosen], tokens[~chosen])
    assert 0 <= inputs.min() and inputs.max() < V


def test_masks_are_a_function_of_the_seed_and_step():
    tokens = torch.randint(V - 1, (4, 64))
    a = mask_tokens(tokens, MASK_ID, V, generator(3, "lm-batch", 7))
    b = mask_tokens(tokens, MASK_ID, V, generator(3, "lm-batch", 7))
    c = mask_tokens(tokens, MASK_ID, V, generator(3, "lm-batch", 8))
    assert all(torch.equal(x, y) for x, y in zip(a, b, strict=True)) and not torch.equal(a[1], c[1])
