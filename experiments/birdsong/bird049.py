"""bird040 with label smoothing 0.1 on the softmax targets: the train crops are fitted to
~90% top-1 by epoch 15 while validation stays near 0.2, so the model memorises recordings."""
from experiments.birdsong.recipes.bird040 import Config as Recipe


class Config(Recipe):
    loss_args = dict(smoothing=0.1)
