"""exp001 with another backbone: a second demo model for `ensemble.py` to blend."""
from configs.exp001 import Config as Base


class Config(Base):
    backbone = "resnet18"
