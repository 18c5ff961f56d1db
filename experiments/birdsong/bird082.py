"""bird080 (the `bird` recipe on the birdsong folds) validated on both views: its focal scores
as before, and the soundscape view (`valid_soundscapes`, soundscapes.py), the fold's validation
recordings mixed quiet and overlapping into 60-s soundscapes over their own quietest seconds.
It measures how far the focal CV overstates the recipe on what BirdCLEF scores."""
from experiments.birdsong.recipes.bird075 import Config as Recipe


class Config(Recipe):
    # from bird080
    seed_bag = 2
    epochs = 30
    valid_every = 30
    infer_recording = "mean"
    # bird082's own change
    valid_soundscapes = dict(length=60.0, calls=(3, 8), seconds=(2.0, 6.0), snr_db=(-6.0, 6.0),
                             uses=2)
