"""`tokenmix viz`: the pictures of the token-mixer papers, from a trained checkpoint.

weights.py: what each mixer's weights look like on the token grid (one rule per part class, found by one walk
over the model); erf.py: the effective receptive field of any model; render.py: maps -> PNG grids;
load.py: a run folder or checkpoint -> the model and its images.
"""
