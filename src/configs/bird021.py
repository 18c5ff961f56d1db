"""bird009 trained four times longer (60 epochs, cosine schedule): within the 20 CPU-minute
budget per fold, and from-scratch training on one or two recordings per species is far from
converged after 15."""
from configs.bird009 import Config as Base


class Config(Base):
    epochs = 60
    valid_every = 10
