"""bird044 (128 mel bins, 60 epochs) on bird052's 3-s crops, 6 per recording per epoch."""
from experiments.birdsong.recipes.bird021 import Config as Recipe


class Config(Recipe):
    # from bird044
    mel_bins = 128
    # bird062's own change
    duration = 3.0
    crops_per_file = 6
    infer_duration = 5.0
