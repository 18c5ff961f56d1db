"""bird040 with 192 mel bins: does pitch resolution keep paying past 128?"""
from experiments.birdsong.recipes.bird040 import Config as Recipe


class Config(Recipe):
    mel_bins = 192
