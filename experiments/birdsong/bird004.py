"""bird003 with a softmax cross-entropy (plus the clipwise BCE) instead of BCE alone: one species
per recording, so the 86 classes compete for each crop."""
from experiments.birdsong.recipes.bird001 import Config as Recipe


class Config(Recipe):
    # from bird002
    crop_pick = 4
    # from bird003
    channels = ("logmel", "denoised")
    # bird004's own change
    loss = "softmax"
