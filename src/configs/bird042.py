"""bird040 with 192 mel bins: does pitch resolution keep paying past 128?"""
from configs.bird040 import Config as Base


class Config(Base):
    mel_bins = 192
