"""bird009 distilled from BirdNET through a KL divergence between the teacher's and the student's
softmax over the classes (temperature 2), crops drawn where the teacher hears the species: the
teacher's ranking of the other species reaches the student."""
from experiments.birdsong.recipes.bird009 import Config as Recipe


class Config(Recipe):
    distill_weight = 1.0
    distill_loss = "kl"
    crop_pick_by = "teacher"
