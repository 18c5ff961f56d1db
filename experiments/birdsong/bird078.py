"""bird075 (a bag of PCEN models with overlapping 3-s windows and smoothed rows) as 2 models of
30 epochs instead of 4 of 15, at about the same CPU: longer training lifted top-1 before
(bird021, bird062, bird070), bagging and the test time lifted window AUC (bird066, bird075)."""
from experiments.birdsong.recipes.bird075 import Config as Recipe


class Config(Recipe):
    seed_bag = 2
    epochs = 30
    valid_every = 30
