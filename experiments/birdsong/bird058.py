"""bird040 fed the `denoised` channel alone (bird038 at 128 mel bins): at 64 bins it raised
window AUC and lowered top-1."""
from experiments.birdsong.recipes.bird040 import Config as Recipe


class Config(Recipe):
    channels = ("denoised",)
