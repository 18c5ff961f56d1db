"""bird009 on PANNs' CNN6 trunk (four 5x5 conv blocks, 64-512 channels) instead of
mobilenetv3_small: the small CNN the PANNs paper trains from scratch, for few data."""
from experiments.birdsong.recipes.bird009 import Config as Recipe


class Config(Recipe):
    backbone = "cnn6"
