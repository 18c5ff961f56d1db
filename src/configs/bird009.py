"""bird004 with the CNN's frequency axis flattened into the head's features instead of averaged:
the head knows in which band a pattern sits (a species' pitch), not only that it exists."""
from configs.bird004 import Config as Base


class Config(Base):
    freq_pool = "flatten"
