"""bird066 (bag of 4, 3-s crops, negatives) on three channels, log-mel, PCEN and denoised:
the log-mel bags rank species within a recording better (top-1), the PCEN bags one species'
windows across recordings (window AUC); one model given both."""
from configs.bird066 import Config as Base


class Config(Base):
    channels = ("logmel", "pcen", "denoised")
