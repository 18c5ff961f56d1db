"""exp001 with a ResNet backbone: slower, stronger, and different enough to blend with it."""
from configs.exp001 import Config as Base


class Config(Base):
    backbone = "resnet10t"
