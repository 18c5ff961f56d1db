"""bird040 (128 mel bins) with bird039's PCEN in place of the raw log-mel."""
from experiments.birdsong.recipes.bird040 import Config as Recipe


class Config(Recipe):
    channels = ("pcen", "denoised")
