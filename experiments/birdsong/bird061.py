"""bird052 on 2-s crops, 9 per recording per epoch: does a shorter crop, yet more filled by
its call, keep paying?"""
from experiments.birdsong.recipes.bird040 import Config as Recipe


class Config(Recipe):
    # from bird052
    infer_duration = 5.0
    # bird061's own change
    duration = 2.0
    crops_per_file = 9
