"""bird003 distilled from the BirdNET teacher: its soft labels on every crop (weight 1) and
crops drawn where it hears the recording's species. The student keeps its fast SED model."""
from experiments.birdsong.recipes.bird001 import Config as Recipe


class Config(Recipe):
    # from bird002
    crop_pick = 4
    # from bird003
    channels = ("logmel", "denoised")
    # bird012's own change
    distill_weight = 1.0
    crop_pick_by = "teacher"
