"""bird040 with dropout 0.5 in the head instead of 0.2 (the head holds most of the weights
once the frequency axis is flattened into it)."""
from configs.bird040 import Config as Base


class Config(Base):
    dropout = 0.5
