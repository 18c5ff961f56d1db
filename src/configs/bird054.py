"""bird040 on mobilenetv3_small at half width (0.5x channels): fewer weights to memorise 86
recordings with."""
from configs.bird040 import Config as Base


class Config(Base):
    backbone = "mobilenetv3_small_050"
