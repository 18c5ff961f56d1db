"""bird003 + mixup of log-mels with the union of both labels: a crop holds two recordings'
birds over two backgrounds, so the model must find each species, not the recording."""
from configs.bird003 import Config as Base


class Config(Base):
    mixup = dict(alpha=1.0, p=0.5, on="logmel", labels="union")
