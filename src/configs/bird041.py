"""bird040 (128 mel bins) with bird039's PCEN in place of the raw log-mel."""
from configs.bird040 import Config as Base


class Config(Base):
    channels = ("pcen", "denoised")
