"""`tokenmix ablate`: hold everything equal but the token mixer, train every cell of a grid over mixers and
seeds, and say which differences are larger than the seed noise (PoolFormer's Table 5 question, on your data).

grid.py (the file format, cells, shards) -> check.py (refuse bad grids before training) -> runner.py (one
`tokenmix train` run per cell) -> report.py (tables; stats.py, reference.py, plots.py).
"""
