"""bird044 (128 mel bins, 60 epochs) on bird052's 3-s crops, 6 per recording per epoch."""
from configs.bird044 import Config as Base


class Config(Base):
    duration = 3.0
    crops_per_file = 6
    infer_duration = 5.0
