"""bird097 (the `bird` recipe) without other audio: no `negative_audio`, so neither negatives
nor the no-call background under the crops, which needs them. What `bird` does as it ships,
in a competition without no-call audio: the baseline of bird100."""
from experiments.birdsong.recipes.bird083 import Config as Recipe


class Config(Recipe):
    # from bird097 (bird094's changes to bird083), Cornell's hour and its background left out
    negative_audio = None
    loss_args = {"frame_weight": 0.5}
    channels = ("pcen", "denoised", "logmel")
