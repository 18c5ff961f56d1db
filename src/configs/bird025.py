"""bird009 on resnet18 (the OpenSoundscape baseline's CNN, bird005) instead of mobilenetv3_small:
does a bigger trunk pay on one or two recordings per species once the loss fits?"""
from configs.bird009 import Config as Base


class Config(Base):
    backbone = "resnet18"
