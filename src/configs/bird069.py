"""bird066 (a bag of 4 15-epoch models per fold: 3-s crops, negatives) with bird067's PCEN in
place of the raw log-mel, which raised window AUC."""
from configs.bird066 import Config as Base


class Config(Base):
    channels = ("pcen", "denoised")
