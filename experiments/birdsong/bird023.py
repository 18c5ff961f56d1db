"""bird021 distilled from the BirdNET teacher (as bird012 does for bird003): the teacher's soft
labels on every crop, crops drawn where it hears the recording's species."""
from experiments.birdsong.recipes.bird021 import Config as Recipe


class Config(Recipe):
    distill_weight = 1.0
    crop_pick_by = "teacher"
