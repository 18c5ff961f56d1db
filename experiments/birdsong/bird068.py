"""bird064 with the clipwise BCE weighted 3 against the softmax cross-entropy instead of 1:
the softmax only ranks classes within a crop; the BCE is what makes one class's score
comparable between windows of different recordings, which window AUC measures."""
from experiments.birdsong.recipes.bird064 import Config as Recipe


class Config(Recipe):
    loss_args = dict(bce_weight=3.0)
