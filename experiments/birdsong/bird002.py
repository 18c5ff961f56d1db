"""bird001 + each crop the loudest of 4 candidates: crops that hold calls, not pauses."""
from experiments.birdsong.recipes.bird001 import Config as Recipe


class Config(Recipe):
    crop_pick = 4
