"""bird040 with dropout 0.5 in the head instead of 0.2 (the head holds most of the weights
once the frequency axis is flattened into it)."""
from experiments.birdsong.recipes.bird040 import Config as Recipe


class Config(Recipe):
    dropout = 0.5
