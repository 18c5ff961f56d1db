"""The BirdNET teacher zero-shot (bird010) scored on the soundscape view too (bird083's
soundscapes: the same folds, sample rate and spec give the same cached mixes), the ceiling a
from-scratch student is measured against. BirdNET was trained on millions of recordings, many
of these species' among them; no training here."""
from experiments.birdsong.recipes.birdsong import Config as Recipe


class Config(Recipe):
    # from bird010
    backbone = "birdnet"
    # bird089's own change
    valid_soundscapes = dict(length=60.0, calls=(3, 8), seconds=(2.0, 6.0), snr_db=(0.0, 20.0),
                             uses=4)
