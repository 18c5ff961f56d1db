"""bird093 (the framewise output trained by its highest frame) with bird091's log-mel channel
(`logmel`, the level that PCEN and the median-subtracted channel divide out): the two changes
that each moved the soundscape view most, together."""
from experiments.birdsong.recipes.bird083 import Config as Recipe


class Config(Recipe):
    # from bird084 (its change to bird083)
    batch_augment = dict(Recipe.batch_augment, mix_p=0.5, mix_snr_db=(0.0, 20.0),
                         mix_from="no_call")
    # from bird093 and bird091
    loss_args = {"frame_weight": 0.5}
    channels = ("pcen", "denoised", "logmel")
