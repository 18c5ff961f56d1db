"""exp000, the RFCX seed notebook's recipe, on the real birds: the from-scratch anchor every
bird experiment is compared with (same folds; epochs set equal to the compared recipe's)."""
from experiments.birdsong.recipes.bird000 import Config as Recipe


class Config(Recipe):
    pass  # the recipe itself: recipes/bird000.py froze bird000 whole
