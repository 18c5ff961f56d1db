"""The BirdNET teacher zero-shot (optional extra, requirements-teacher.txt): its own score of
each class's BirdNET species, max over 3-s windows every second; no training."""
from experiments.birdsong.recipes.birdsong import Config as Recipe


class Config(Recipe):
    backbone = "birdnet"
