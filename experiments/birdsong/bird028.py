"""bird009 distilled from BirdNET's embeddings: the student's pooled features, projected, must
point where the teacher's 1024-d embedding of the crop points (cosine); crops drawn where the
teacher hears the species."""
from experiments.birdsong.recipes.bird009 import Config as Recipe


class Config(Recipe):
    distill_embedding = 1.0
    crop_pick_by = "teacher"
