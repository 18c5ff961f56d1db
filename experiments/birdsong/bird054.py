"""bird040 on mobilenetv3_small at half width (0.5x channels): fewer weights to memorise 86
recordings with."""
from experiments.birdsong.recipes.bird040 import Config as Recipe


class Config(Recipe):
    backbone = "mobilenetv3_small_050"
