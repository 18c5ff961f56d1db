"""bird078 (2 PCEN models of 30 epochs per fold) with a recording scored by the mean of its
frames (`infer_recording = "mean"`, bird079's change). Test time only."""
from experiments.birdsong.recipes.bird075 import Config as Recipe


class Config(Recipe):
    # from bird078
    seed_bag = 2
    epochs = 30
    valid_every = 30
    # bird080's own change
    infer_recording = "mean"
