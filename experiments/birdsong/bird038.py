"""bird009 fed only the `denoised` channel: without the raw log-mel the model never sees the
recording's steady background, so with one recording per species it cannot learn a species
from its recorder or its wind."""
from experiments.birdsong.recipes.bird009 import Config as Recipe


class Config(Recipe):
    channels = ("denoised",)
