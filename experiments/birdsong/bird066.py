"""bird064 (3-s crops + negatives, 15 epochs) as a bag of 4 seeds per fold, each scored once
after its last epoch (no epoch picked on the validation fold), the fold scored as their
mean: the seed-to-seed spread of one 15-epoch model is as large as most rows' changes."""
from experiments.birdsong.recipes.bird064 import Config as Recipe


class Config(Recipe):
    seed_bag = 4
    valid_every = 15
