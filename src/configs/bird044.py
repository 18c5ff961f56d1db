"""bird021 (the 60-epoch recipe) with bird040's 128 mel bins, the change that paid at 15
epochs."""
from configs.bird021 import Config as Base


class Config(Base):
    mel_bins = 128
