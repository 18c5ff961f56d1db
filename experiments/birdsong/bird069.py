"""bird066 (a bag of 4 15-epoch models per fold: 3-s crops, negatives) with bird067's PCEN in
place of the raw log-mel, which raised window AUC."""
from experiments.birdsong.recipes.bird069 import Config as Recipe


class Config(Recipe):
    pass  # the recipe itself: recipes/bird069.py froze bird069 whole
