"""bird003 with PANNs' CNN10 trunk instead of mobilenetv3_small: plain 3x3 conv pairs, built for
spectrograms and small enough to learn from one or two recordings per species."""
from configs.bird003 import Config as Base


class Config(Base):
    backbone = "cnn10"
