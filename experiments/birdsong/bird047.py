"""bird040 + a pitch shift of up to 2 mel bins (~6%) on half the crops: another individual
of the species sings a little higher or lower."""
from experiments.birdsong.recipes.bird040 import Config as Recipe


class Config(Recipe):
    mel_augment = dict(shift=2, p=0.5)
