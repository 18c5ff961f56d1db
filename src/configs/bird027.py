"""bird009 distilled from BirdNET through a KL divergence between the teacher's and the student's
softmax over the classes (temperature 2), crops drawn where the teacher hears the species: the
teacher's ranking of the other species reaches the student."""
from configs.bird009 import Config as Base


class Config(Base):
    distill_weight = 1.0
    distill_loss = "kl"
    crop_pick_by = "teacher"
