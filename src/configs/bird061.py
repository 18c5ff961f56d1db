"""bird052 on 2-s crops, 9 per recording per epoch: does a shorter crop, yet more filled by
its call, keep paying?"""
from configs.bird052 import Config as Base


class Config(Base):
    duration = 2.0
    crops_per_file = 9
