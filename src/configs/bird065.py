"""bird062 (3-s crops, 60 epochs) + bird064's negatives (the Cornell soundscapes)."""
from configs.bird062 import Config as Base


class Config(Base):
    negative_audio = "../shared/data/cornell-example/test_audio"
