"""bird087 with the teacher's labels on the fold's validation recordings as the unlabeled audio
(`distill_audio = "valid"`). TRANSDUCTIVE: the view's soundscapes are mixed from the very
recordings the student learnt the teacher's labels on, as a competition's student hears the
unlabeled or test soundscapes it is scored on. Kept apart from bird087, which never hears them."""
from experiments.birdsong.recipes.bird083 import Config as Recipe


class Config(Recipe):
    # bird088's own change
    negative_audio = None
    distill_weight = 1.0
    distill_loss = "ce"
    crop_pick_by = "teacher"
    distill_audio = "valid"
