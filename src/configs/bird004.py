"""bird003 with a softmax cross-entropy (plus the clipwise BCE) instead of BCE alone: one species
per recording, so the 86 classes compete for each crop."""
from configs.bird003 import Config as Base


class Config(Base):
    loss = "softmax"
