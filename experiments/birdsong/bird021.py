"""bird009 trained four times longer (60 epochs, cosine schedule): within the 20 CPU-minute
budget per fold, and from-scratch training on one or two recordings per species is far from
converged after 15."""
from experiments.birdsong.recipes.bird021 import Config as Recipe


class Config(Recipe):
    pass  # the recipe itself: recipes/bird021.py froze bird021 whole
