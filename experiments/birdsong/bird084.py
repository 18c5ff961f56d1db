"""bird083 + a no-call background under half the training crops: a crop of the negative
soundscapes (`negative_audio`, Cornell's hour of North American sites) added 0-20 dB below
the crop (`batch_augment` `mix_from="no_call"`), labels unchanged. A soundscape holds its calls
over site noise; the focal crops never showed the model one, and a background taken from
another bird's crop (bird046's `mix_from="any"`) would carry a call nobody labelled."""
from experiments.birdsong.recipes.bird075 import Config as Recipe


class Config(Recipe):
    # from bird080
    seed_bag = 2
    epochs = 30
    valid_every = 30
    infer_recording = "mean"
    # from bird083
    valid_soundscapes = dict(length=60.0, calls=(3, 8), seconds=(2.0, 6.0), snr_db=(0.0, 20.0),
                             uses=4)
    # bird084's own change
    batch_augment = dict(Recipe.batch_augment, mix_p=0.5, mix_snr_db=(0.0, 20.0),
                         mix_from="no_call")
