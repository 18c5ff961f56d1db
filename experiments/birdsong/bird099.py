"""bird097 (the `bird` recipe with a no-call background under 80% of the crops, 5 dB above
them to 15 dB below) with the background louder still: 10 dB above the crop to 10 dB below.
bird097's step (from 0-20 dB below) raised every score of both views: is its range still too
clean for the calls the view holds?"""
from experiments.birdsong.recipes.bird083 import Config as Recipe


class Config(Recipe):
    # from bird097 (bird094's changes to bird083), the background louder still
    batch_augment = dict(Recipe.batch_augment, mix_p=0.8, mix_snr_db=(-10.0, 10.0),
                         mix_from="no_call")
    loss_args = {"frame_weight": 0.5}
    channels = ("pcen", "denoised", "logmel")
