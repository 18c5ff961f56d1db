"""bird097 (the `bird` recipe then) judged over soundscapes it never trained on: Cornell's
hour split in two, its last two SSW soundscapes (20 min of a New York wood) the validation
soundscapes' background, its other six files (three from the same wood) the no-call negatives
and backgrounds. The default view lays calls over the validation recordings' own quiet
seconds, the same kind of noise as `quiet_negatives` train on (bird100), which may flatter
them: this view and bird103 tell."""
from experiments.birdsong.recipes.bird083 import Config as Recipe

CORNELL = "../shared/data/cornell-example/test_audio/"


class Config(Recipe):
    # from bird097 (its changes to bird083); Cornell's hour split between training and the view
    negative_audio = CORNELL + "*[!24].mp3"  # all but SSW52 and SSW54
    batch_augment = dict(Recipe.batch_augment, mix_p=0.8, mix_snr_db=(-5.0, 15.0),
                         mix_from="no_call")
    loss_args = {"frame_weight": 0.5}
    channels = ("pcen", "denoised", "logmel")
    valid_soundscapes = dict(Recipe.valid_soundscapes, background=CORNELL + "SSW5[24].mp3")
