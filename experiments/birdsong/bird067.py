"""bird064 with PCEN in place of the raw log-mel: PCEN raised window AUC each time it was tried
(bird039, bird041), at some cost in top-1."""
from experiments.birdsong.recipes.bird064 import Config as Recipe


class Config(Recipe):
    channels = ("pcen", "denoised")
