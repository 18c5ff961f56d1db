"""bird040 with weight decay 0.05 instead of 0.01 (AdamW)."""
from configs.bird040 import Config as Base


class Config(Base):
    weight_decay = 0.05
