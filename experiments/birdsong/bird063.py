"""bird062 with every augmentation against recording identity at once: pitch shift and
random EQ (mel_augment), a background clip from the batch, SpecAugment. At 15 epochs each
cost a little top-1 (bird046-bird050), as a regulariser does before the model has fitted;
the 60-epoch model fits its training crops by epoch 20 and then stops improving."""
from experiments.birdsong.recipes.bird021 import Config as Recipe


class Config(Recipe):
    # from bird044
    mel_bins = 128
    # from bird062
    duration = 3.0
    crops_per_file = 6
    infer_duration = 5.0
    # bird063's own change
    mel_augment = dict(shift=2, eq_db=6.0, p=0.5)
    batch_augment = dict(Recipe.batch_augment, mix_p=0.5, mix_snr_db=(3.0, 15.0))
    spec_augment = dict(time_drop_width=32, time_stripes_num=2, freq_drop_width=8,
                        freq_stripes_num=2)
