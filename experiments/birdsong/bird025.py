"""bird009 on resnet18 (the OpenSoundscape baseline's CNN, bird005) instead of mobilenetv3_small:
does a bigger trunk pay on one or two recordings per species once the loss fits?"""
from experiments.birdsong.recipes.bird009 import Config as Recipe


class Config(Recipe):
    backbone = "resnet18"
