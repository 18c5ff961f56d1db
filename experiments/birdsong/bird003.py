"""bird002 + a `denoised` input channel (log-mel minus each bin's median over the clip): the
recording's steady background cannot stand in for the species."""
from experiments.birdsong.recipes.bird001 import Config as Recipe


class Config(Recipe):
    # from bird002
    crop_pick = 4
    # bird003's own change
    channels = ("logmel", "denoised")
