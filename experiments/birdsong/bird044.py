"""bird021 (the 60-epoch recipe) with bird040's 128 mel bins, the change that paid at 15
epochs."""
from experiments.birdsong.recipes.bird021 import Config as Recipe


class Config(Recipe):
    mel_bins = 128
