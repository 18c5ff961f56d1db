"""bird009 + mixup of log-mels with the union of both labels (p 0.5): now that the softmax loss
fits the training crops, a crop holding two recordings' birds over two backgrounds regularises."""
from experiments.birdsong.recipes.bird009 import Config as Recipe


class Config(Recipe):
    mixup = dict(alpha=1.0, p=0.5, on="logmel", labels="union")
