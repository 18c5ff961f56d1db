"""A resnet18 baseline on the birdsong folds (the documented OpenSoundscape recipe's CNN, from
scratch): resnet18 on a 3-channel log-mel of 3-s crops; otherwise bird001."""
from experiments.birdsong.recipes.bird001 import Config as Recipe


class Config(Recipe):
    backbone = "resnet18"
    channels = ("logmel", "logmel", "logmel")
    duration = 3.0
