"""bird100 (no other audio: `quiet_negatives` give the negatives and the backgrounds) judged on
bird102's view, over SSW noise it never trained on, where the default view's background is the
same kind of noise as its negatives."""
from experiments.birdsong.recipes.bird083 import Config as Recipe

CORNELL = "../shared/data/cornell-example/test_audio/"


class Config(Recipe):
    # from bird100 (bird098 without Cornell's hour), on bird102's view
    negative_audio = None
    batch_augment = dict(Recipe.batch_augment, mix_p=0.8, mix_snr_db=(-5.0, 15.0),
                         mix_from="no_call")
    loss_args = {"frame_weight": 0.5}
    channels = ("pcen", "denoised", "logmel")
    quiet_negatives = 0.15
    valid_soundscapes = dict(Recipe.valid_soundscapes, background=CORNELL + "SSW5[24].mp3")
