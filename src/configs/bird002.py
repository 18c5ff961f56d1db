"""bird001 + each crop the loudest of 4 candidates: crops that hold calls, not pauses."""
from configs.bird001 import Config as Base


class Config(Base):
    crop_pick = 4
