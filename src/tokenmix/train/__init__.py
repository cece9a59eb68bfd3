"""Training: configs and recipes, the loop, checkpoints and resume, torchrun support, run reports."""
