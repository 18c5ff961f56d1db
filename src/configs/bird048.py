"""bird040 + a random smooth EQ of up to 6 dB over the mel bins on half the crops: another
recorder and site colour the spectrum differently."""
from configs.bird040 import Config as Base


class Config(Base):
    mel_augment = dict(eq_db=6.0, p=0.5)
