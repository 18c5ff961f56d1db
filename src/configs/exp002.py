"""exp001 with a PCEN channel stacked on the log-mel: PCEN evens out background level and gain,
a different view of the same audio that blends well with exp001."""
from configs.exp001 import Config as Base


class Config(Base):
    channels = ("logmel", "pcen")
