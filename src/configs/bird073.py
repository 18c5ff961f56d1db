"""bird069 with each negative soundscape drawn twice as often as a training recording: between
bird069 (9 % of the crops negative, LWLRAP 0.390, window AUC 0.793) and bird072 (28 %, 0.336,
0.811)."""
from configs.bird069 import Config as Base


class Config(Base):
    negative_repeat = 2
