"""st000 retrained with the demo's unlabeled soundscapes, pseudo-labelled by st000 (one round of
self-training): fold k learns the soundscapes' 5-s rows as st000's fold k predicts them (its
out-of-fold model, pseudo.py), through the BCE distillation term. Train st000 first."""
from experiments.selftrain.recipes.demo2025 import Config as Recipe


class Config(Recipe):
    # as st000
    epochs = 10
    seed_bag = 1
    valid_every = 10
    # one round of self-training
    distill_audio = "soundscapes"
    pseudo_labels = "st000"
    distill_weight = 1.0
