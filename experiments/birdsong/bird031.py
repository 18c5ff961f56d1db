"""bird029 with the teacher's labels on unlabeled audio from elsewhere: the Cornell 2020 example
soundscapes (an hour of North American dawn chorus, ../shared/data), mostly species outside the
competition's, so mostly what the student's species are not."""
from experiments.birdsong.recipes.bird009 import Config as Recipe


class Config(Recipe):
    # from bird029
    distill_weight = 1.0
    crop_pick_by = "teacher"
    # bird031's own change
    distill_audio = "../shared/data/cornell-example/test_audio"
