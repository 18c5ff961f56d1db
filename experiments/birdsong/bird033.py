"""bird032 with the teacher's labels on the validation recordings as unlabeled audio (as
bird030 adds them to bird029): what unlabeled audio from the test's distribution brings once
the teacher's term fits."""
from experiments.birdsong.recipes.bird009 import Config as Recipe


class Config(Recipe):
    # from bird029
    distill_weight = 1.0
    crop_pick_by = "teacher"
    # from bird032
    distill_loss = "ce"
    # bird033's own change
    distill_audio = "valid"
