"""bird004 with the CNN's frequency axis flattened into the head's features instead of averaged:
the head knows in which band a pattern sits (a species' pitch), not only that it exists."""
from experiments.birdsong.recipes.bird009 import Config as Recipe


class Config(Recipe):
    pass  # the recipe itself: recipes/bird009.py froze bird009 whole
