"""bird040 fed the `denoised` channel alone (bird038 at 128 mel bins): at 64 bins it raised
window AUC and lowered top-1."""
from configs.bird040 import Config as Base


class Config(Base):
    channels = ("denoised",)
