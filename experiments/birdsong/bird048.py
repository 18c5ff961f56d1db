"""bird040 + a random smooth EQ of up to 6 dB over the mel bins on half the crops: another
recorder and site colour the spectrum differently."""
from experiments.birdsong.recipes.bird040 import Config as Recipe


class Config(Recipe):
    mel_augment = dict(eq_db=6.0, p=0.5)
