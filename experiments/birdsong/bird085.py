"""bird084 + waveform mixup with the union of both labels on half the batch's crops: two
crops summed at weights lam and 1 - lam (lam uniform), both species labelled. A soundscape's
row often holds two species at once, at different levels; a focal crop never does."""
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
    # from bird084
    batch_augment = dict(Recipe.batch_augment, mix_p=0.5, mix_snr_db=(0.0, 20.0),
                         mix_from="no_call")
    # bird085's own change
    mixup = dict(alpha=1.0, p=0.5, on="wave", labels="union")
