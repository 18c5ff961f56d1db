"""bird040 + a pitch shift of up to 2 mel bins (~6%) on half the crops: another individual
of the species sings a little higher or lower."""
from configs.bird040 import Config as Base


class Config(Base):
    mel_augment = dict(shift=2, p=0.5)
