"""bird009 with 128 mel bins instead of 64: finer pitch for the flattened frequency axis
(bird song sits in narrow bands between 1 and 10 kHz)."""
from configs.bird009 import Config as Base


class Config(Base):
    mel_bins = 128
