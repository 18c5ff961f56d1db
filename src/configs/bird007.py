"""bird006 + SpecAugment (time and frequency stripes dropped): calls partly masked must still
be recognised from what remains."""
from configs.bird006 import Config as Base


class Config(Base):
    spec_augment = dict(time_drop_width=16, time_stripes_num=2, freq_drop_width=8,
                        freq_stripes_num=2)
