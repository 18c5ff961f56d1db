"""bird066 as a bag of 2 models of 40 epochs instead of 4 of 15 (about the same CPU): longer
training lifted top-1 (bird062), bagging lifted window AUC (bird066)."""
from experiments.birdsong.recipes.bird064 import Config as Recipe


class Config(Recipe):
    seed_bag = 2
    epochs = 40
    valid_every = 40
