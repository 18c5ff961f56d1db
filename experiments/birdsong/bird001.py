"""exp001's demo recipe (mobilenetv3_small on 5-s log-mel crops) on the real birds, with four
random crops per recording per epoch."""
from experiments.birdsong.recipes.bird001 import Config as Recipe


class Config(Recipe):
    pass  # the recipe itself: recipes/bird001.py froze bird001 whole
