"""bird040 on 3-s training crops, 6 per recording per epoch (about the same audio per epoch):
a call fills more of a short crop, so fewer crops teach a species from a pause. Validation and
inference keep 5-s windows."""
from experiments.birdsong.recipes.bird040 import Config as Recipe


class Config(Recipe):
    duration = 3.0
    crops_per_file = 6
    infer_duration = 5.0
