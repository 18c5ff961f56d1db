"""bird040 keeping the loudest of 8 candidate crops instead of 4: more crops hold a call."""
from experiments.birdsong.recipes.bird040 import Config as Recipe


class Config(Recipe):
    crop_pick = 8
