"""bird040 keeping the loudest of 8 candidate crops instead of 4: more crops hold a call."""
from configs.bird040 import Config as Base


class Config(Base):
    crop_pick = 8
