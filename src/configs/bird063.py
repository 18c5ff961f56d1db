"""bird062 with every augmentation against recording identity at once: pitch shift and
random EQ (mel_augment), a background clip from the batch, SpecAugment. At 15 epochs each
cost a little top-1 (bird046-bird050), as a regulariser does before the model has fitted;
the 60-epoch model fits its training crops by epoch 20 and then stops improving."""
from configs.bird062 import Config as Base


class Config(Base):
    mel_augment = dict(shift=2, eq_db=6.0, p=0.5)
    batch_augment = dict(Base.batch_augment, mix_p=0.5, mix_snr_db=(3.0, 15.0))
    spec_augment = dict(time_drop_width=32, time_stripes_num=2, freq_drop_width=8,
                        freq_stripes_num=2)
