"""st001 with the pseudo-labels as softmax targets weighted by their top probability
(`distill_loss = "ce"`, as the recipe's own loss is a softmax): a row where st000 hears
nothing teaches nothing, where BCE teaches "silence" on every class. Train st000 first."""
from experiments.selftrain.recipes.demo2025 import Config as Recipe


class Config(Recipe):
    # as st001
    epochs = 10
    seed_bag = 1
    valid_every = 10
    distill_audio = "soundscapes"
    pseudo_labels = "st000"
    distill_weight = 1.0
    # the form of the term
    distill_loss = "ce"
