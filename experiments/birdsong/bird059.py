"""Diagnostic, not a recipe: bird040 with BirdNET choosing the crop (the candidate where it
hears the recording's species best, no distillation term). An oracle of call finding: how much
the energy pick of bird040 loses to crops that surely hold the species. Needs the BirdNET
extra (requirements-teacher.txt)."""
from experiments.birdsong.recipes.bird040 import Config as Recipe


class Config(Recipe):
    crop_pick_by = "teacher"
