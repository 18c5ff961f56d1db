"""bird098 without other audio: no `negative_audio` (Cornell's hour), so the no-call crops,
and the backgrounds laid under the training crops, are the training recordings' own quiet
stretches (`quiet_negatives`). A competition that ships no no-call audio is in this case;
compare bird101, the `bird` recipe as it runs there (neither negatives nor backgrounds)."""
from experiments.birdsong.recipes.bird083 import Config as Recipe


class Config(Recipe):
    # from bird098 (bird097's changes to bird083 and quiet negatives), Cornell's hour left out
    negative_audio = None
    batch_augment = dict(Recipe.batch_augment, mix_p=0.8, mix_snr_db=(-5.0, 15.0),
                         mix_from="no_call")
    loss_args = {"frame_weight": 0.5}
    channels = ("pcen", "denoised", "logmel")
    quiet_negatives = 0.15
