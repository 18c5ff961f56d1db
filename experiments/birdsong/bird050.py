"""bird040 + SpecAugment (2 time stripes of up to 0.5 s, 2 frequency stripes of up to 8 mel
bins): tried on the BCE recipe (bird007) when it underfitted; the softmax recipe overfits."""
from experiments.birdsong.recipes.bird040 import Config as Recipe


class Config(Recipe):
    spec_augment = dict(time_drop_width=32, time_stripes_num=2, freq_drop_width=8,
                        freq_stripes_num=2)
