"""bird006 + SpecAugment (time and frequency stripes dropped): calls partly masked must still
be recognised from what remains."""
from experiments.birdsong.recipes.bird001 import Config as Recipe


class Config(Recipe):
    # from bird002
    crop_pick = 4
    # from bird003
    channels = ("logmel", "denoised")
    # from bird006
    mixup = dict(alpha=1.0, p=0.5, on="logmel", labels="union")
    # bird007's own change
    spec_augment = dict(time_drop_width=16, time_stripes_num=2, freq_drop_width=8,
                        freq_stripes_num=2)
