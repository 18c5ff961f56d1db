"""The bird recipe (bird021, 60 epochs) distilled as bird033: softmax targets from the teacher,
teacher-picked crops, and the teacher's labels on the validation recordings as unlabeled audio
(transductive in CV, as a competition's unlabeled or test soundscapes are)."""
from experiments.birdsong.recipes.bird021 import Config as Recipe


class Config(Recipe):
    distill_weight = 1.0
    distill_loss = "ce"
    crop_pick_by = "teacher"
    distill_audio = "valid"
