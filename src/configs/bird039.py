"""bird009 with PCEN in place of the raw log-mel: per-channel gain control evens out the
background level and the recorder's gain, which vary between recordings of one species."""
from configs.bird009 import Config as Base


class Config(Base):
    channels = ("pcen", "denoised")
