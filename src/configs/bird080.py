"""bird078 (2 PCEN models of 30 epochs per fold) with a recording scored by the mean of its
frames (`infer_recording = "mean"`, bird079's change). Test time only."""
from configs.bird078 import Config as Base


class Config(Base):
    infer_recording = "mean"
