"""bird103 (the `bird` recipe, on the SSW view) + a pitch shift of up to 2 mel bins and a
smooth EQ of up to 6 dB, each on half the crops: the sound of another bird and another
recorder, which a species' one training recording cannot give. bird047 and bird048 judged them
on one seed of a 15-epoch recipe whose own seeds spread from 0.110 to 0.203 top-1 (bird040)."""
from experiments.birdsong.recipes.bird083 import Config as Recipe

CORNELL = "../shared/data/cornell-example/test_audio/"


class Config(Recipe):
    # from bird103 (bird100's training on bird102's view)
    negative_audio = None
    batch_augment = dict(Recipe.batch_augment, mix_p=0.8, mix_snr_db=(-5.0, 15.0),
                         mix_from="no_call")
    loss_args = {"frame_weight": 0.5}
    channels = ("pcen", "denoised", "logmel")
    quiet_negatives = 0.15
    valid_soundscapes = dict(Recipe.valid_soundscapes, background=CORNELL + "SSW5[24].mp3")
    mel_augment = dict(shift=2, eq_db=6.0, p=0.5)
