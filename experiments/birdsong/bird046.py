"""bird040 + another clip of the batch mixed in as background 3-15 dB below, half the time,
labels unchanged: the background of a recording stops identifying its species."""
from experiments.birdsong.recipes.bird040 import Config as Recipe


class Config(Recipe):
    batch_augment = dict(Recipe.batch_augment, mix_p=0.5, mix_snr_db=(3.0, 15.0))
