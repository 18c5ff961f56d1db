"""bird009 validated with an exponential moving average of its weights (horizon ~100 steps, about
five epochs here): smooths the noisy updates of tiny batches from a handful of recordings."""
from experiments.birdsong.recipes.bird009 import Config as Recipe


class Config(Recipe):
    ema = 0.99
