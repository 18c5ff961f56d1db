"""bird069 with each negative soundscape drawn twice as often as a training recording: between
bird069 (9 % of the crops negative, LWLRAP 0.390, window AUC 0.793) and bird072 (28 %, 0.336,
0.811)."""
from experiments.birdsong.recipes.bird069 import Config as Recipe


class Config(Recipe):
    negative_repeat = 2
