"""bird075 with half its bag on the raw log-mel: members 0 and 2 on PCEN + denoised (bird069),
1 and 3 on log-mel + denoised (bird066), at the same cost. The two inputs err on different
recordings: averaged offline, the saved validation predictions of two bird066 and two bird069
members beat those of four of either on every score."""
from experiments.birdsong.recipes.bird075 import Config as Recipe


class Config(Recipe):
    bag_overrides = ({}, {"channels": ("logmel", "denoised")})
