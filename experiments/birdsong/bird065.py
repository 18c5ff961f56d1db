"""bird062 (3-s crops, 60 epochs) + bird064's negatives (the Cornell soundscapes)."""
from experiments.birdsong.recipes.bird021 import Config as Recipe


class Config(Recipe):
    # from bird044
    mel_bins = 128
    # from bird062
    duration = 3.0
    crops_per_file = 6
    infer_duration = 5.0
    # bird065's own change
    negative_audio = "../shared/data/cornell-example/test_audio"
