"""bird066 (bag of 4, 3-s crops, negatives) on three channels, log-mel, PCEN and denoised:
the log-mel bags rank species within a recording better (top-1), the PCEN bags one species'
windows across recordings (window AUC); one model given both."""
from experiments.birdsong.recipes.bird064 import Config as Recipe


class Config(Recipe):
    # from bird066
    seed_bag = 4
    valid_every = 15
    # bird071's own change
    channels = ("logmel", "pcen", "denoised")
