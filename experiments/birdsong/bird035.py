"""bird021 (60 epochs) + bird020's mixup: mixup hurt at 15 epochs, where the model still
underfits; at 60 epochs it fits the training crops, where a regulariser may pay."""
from experiments.birdsong.recipes.bird021 import Config as Recipe


class Config(Recipe):
    mixup = dict(alpha=1.0, p=0.5, on="logmel", labels="union")
