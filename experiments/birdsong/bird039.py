"""bird009 with PCEN in place of the raw log-mel: per-channel gain control evens out the
background level and the recorder's gain, which vary between recordings of one species."""
from experiments.birdsong.recipes.bird009 import Config as Recipe


class Config(Recipe):
    channels = ("pcen", "denoised")
