"""bird009 with 128 mel bins instead of 64: finer pitch for the flattened frequency axis
(bird song sits in narrow bands between 1 and 10 kHz)."""
from experiments.birdsong.recipes.bird040 import Config as Recipe


class Config(Recipe):
    pass  # the recipe itself: recipes/bird040.py froze bird040 whole
