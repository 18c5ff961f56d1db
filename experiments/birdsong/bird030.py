"""bird029 with the teacher's labels on unlabeled audio from the test's own distribution: here
each fold's validation recordings, whose labels the student never sees (what a competition's
unlabeled soundscapes, or its test audio, give a distilled student; transductive in CV)."""
from experiments.birdsong.recipes.bird009 import Config as Recipe


class Config(Recipe):
    # from bird029
    distill_weight = 1.0
    crop_pick_by = "teacher"
    # bird030's own change
    distill_audio = "valid"
