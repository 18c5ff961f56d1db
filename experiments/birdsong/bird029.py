"""bird009 distilled from BirdNET as bird023 distills bird021 (BCE against the teacher's
probabilities, teacher-picked crops): the 15-epoch reference of bird027 and bird028."""
from experiments.birdsong.recipes.bird009 import Config as Recipe


class Config(Recipe):
    distill_weight = 1.0
    crop_pick_by = "teacher"
