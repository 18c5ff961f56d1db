"""bird000 (exp000, the RFCX seed recipe, on the real birds) validated on both views, the
soundscape view calibrated as bird083's: the focal/soundscape gap of the from-scratch anchor."""
from experiments.birdsong.recipes.bird000 import Config as Recipe


class Config(Recipe):
    valid_soundscapes = dict(length=60.0, calls=(3, 8), seconds=(2.0, 6.0), snr_db=(0.0, 20.0),
                             uses=4)
