"""bird101 (the `bird` recipe as it ships where no no-call audio exists: neither negatives nor
backgrounds) on bird102's view, over SSW noise: the baseline bird103's quiet negatives are
measured against there."""
from experiments.birdsong.recipes.bird083 import Config as Recipe

CORNELL = "../shared/data/cornell-example/test_audio/"


class Config(Recipe):
    # from bird101 (bird097 without Cornell's hour), on bird102's view
    negative_audio = None
    loss_args = {"frame_weight": 0.5}
    channels = ("pcen", "denoised", "logmel")
    valid_soundscapes = dict(Recipe.valid_soundscapes, background=CORNELL + "SSW5[24].mp3")
