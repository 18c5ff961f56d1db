"""bird083 (the bird recipe on both views) distilled from the BirdNET teacher, without the
validation audio: softmax targets from the teacher on every crop (`distill_loss = "ce"`, as
bird033/bird034), crops where it hears the recording's species, and its labels on Cornell's
hour of North American soundscapes (`distill_audio`) in place of bird080's hard no-call crops
of the same hour (the config refuses a teacher beside `negative_audio`). The competition case
that has no soundscapes of its own species: the student never hears a validation recording."""
from experiments.birdsong.recipes.bird083 import Config as Recipe


class Config(Recipe):
    # bird087's own change
    negative_audio = None
    distill_weight = 1.0
    distill_loss = "ce"
    crop_pick_by = "teacher"
    distill_audio = "../shared/data/cornell-example/test_audio"
