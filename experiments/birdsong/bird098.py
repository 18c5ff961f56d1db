"""bird097 (the `bird` recipe with a louder no-call background under most crops) with quiet
negatives: 15% of a training recording's draws take its quietest of 8 crops instead, trained
with every class absent (`quiet_negatives`). bird083's models score the view's empty rows
higher than its rows with a call (mean top probability 0.80 against 0.70 on fold 0): the noise
of a recording's site, heard only under its species' calls in training, is learnt as part of
the species. The crops cost no more CPU: they replace draws."""
from experiments.birdsong.recipes.bird083 import Config as Recipe


class Config(Recipe):
    # from bird097 (bird094's changes to bird083, the background's share and level changed)
    batch_augment = dict(Recipe.batch_augment, mix_p=0.8, mix_snr_db=(-5.0, 15.0),
                         mix_from="no_call")
    loss_args = {"frame_weight": 0.5}
    channels = ("pcen", "denoised", "logmel")
    # its own change
    quiet_negatives = 0.15
