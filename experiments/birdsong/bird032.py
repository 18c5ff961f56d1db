"""bird029 with the teacher's labels as softmax targets (`distill_loss = "ce"`, each crop
weighted by how sure the teacher is) instead of a BCE: BCE over 86 classes underfits here
(see bird004), and a teacher term that does not fit teaches nothing."""
from experiments.birdsong.recipes.bird009 import Config as Recipe


class Config(Recipe):
    # from bird029
    distill_weight = 1.0
    crop_pick_by = "teacher"
    # bird032's own change
    distill_loss = "ce"
