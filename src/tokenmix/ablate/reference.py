"""Published figures to rank the small-scale results against: PoolFormer (Yu et al. 2022, "MetaFormer is
Actually What You Need for Vision") Table 5, token-mixer ablations of PoolFormer-S12 on ImageNet-1k, 300
epochs (transcribed in the project's reference notes). Keys are the grid's mixer strings."""

from __future__ import annotations

POOLFORMER_TABLE5_TOP1 = {
    "identity": 74.3,
    "random": 75.8,  # global random matrix, frozen
    "pool": 77.2,  # PoolFormer-S12
    "dwconv": 78.1,
    "pool,pool,pool,attn": 78.3,
    "pool,pool,attn,attn": 81.0,
    "pool,pool,pool,fc": 77.5,  # fc: SpatialFC, Linear(N, N) without bias
    "pool,pool,fc,fc": 77.9,
}
SOURCE = "PoolFormer paper Table 5 (S12, ImageNet-1k)"


def canonical_mixers(mixers: str) -> str:
    """ "pool,pool,pool,pool" and "pool" name the same model."""
    names = [m.strip() for m in mixers.split(",")]
    return names[0] if len(set(names)) == 1 else ",".join(names)
