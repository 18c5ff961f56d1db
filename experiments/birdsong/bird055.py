"""bird040 with weight decay 0.05 instead of 0.01 (AdamW)."""
from experiments.birdsong.recipes.bird040 import Config as Recipe


class Config(Recipe):
    weight_decay = 0.05
