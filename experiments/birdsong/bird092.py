"""bird084 with the denoised channel gated (`gated`: less 6 dB, floored at 0), so a
background-only stretch reads as silence.

Why: bird091's docstring (bird083 scored background-only rows above rows with a call)."""
from experiments.birdsong.recipes.bird083 import Config as Recipe


class Config(Recipe):
    # from bird084 (its change to bird083)
    batch_augment = dict(Recipe.batch_augment, mix_p=0.5, mix_snr_db=(0.0, 20.0),
                         mix_from="no_call")
    # bird092's own change
    channels = ("pcen", "gated")
