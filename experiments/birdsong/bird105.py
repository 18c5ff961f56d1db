"""bird103 (the `bird` recipe on bird102's view over SSW noise) with twice the quiet
negatives: 30% of a recording's draws its quietest crop, every class absent. bird100 against
bird101 raised soundscape AUC by 0.11; is more better, or does it teach "absent" on the
recording's own faint calls (bird098's focal top-1)?"""
from experiments.birdsong.recipes.bird083 import Config as Recipe

CORNELL = "../shared/data/cornell-example/test_audio/"


class Config(Recipe):
    # from bird103, twice the quiet negatives
    negative_audio = None
    batch_augment = dict(Recipe.batch_augment, mix_p=0.8, mix_snr_db=(-5.0, 15.0),
                         mix_from="no_call")
    loss_args = {"frame_weight": 0.5}
    channels = ("pcen", "denoised", "logmel")
    quiet_negatives = 0.3
    valid_soundscapes = dict(Recipe.valid_soundscapes, background=CORNELL + "SSW5[24].mp3")
