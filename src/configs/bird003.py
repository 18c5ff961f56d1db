"""bird002 + a `denoised` input channel (log-mel minus each bin's median over the clip): the
recording's steady background cannot stand in for the species."""
from configs.bird002 import Config as Base


class Config(Base):
    channels = ("logmel", "denoised")
