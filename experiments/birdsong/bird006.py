"""bird003 + mixup of log-mels with the union of both labels: a crop holds two recordings'
birds over two backgrounds, so the model must find each species, not the recording."""
from experiments.birdsong.recipes.bird001 import Config as Recipe


class Config(Recipe):
    # from bird002
    crop_pick = 4
    # from bird003
    channels = ("logmel", "denoised")
    # bird006's own change
    mixup = dict(alpha=1.0, p=0.5, on="logmel", labels="union")
