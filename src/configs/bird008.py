"""bird007 trained four times longer (60 epochs, cosine schedule): from-scratch learning on one
or two recordings per species is far from converged after 15 epochs, and a small model has the
CPU budget for it."""
from configs.bird007 import Config as Base


class Config(Base):
    epochs = 60
    valid_every = 10
