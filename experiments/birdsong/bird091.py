"""bird084 with a third channel, the log-mel in dB (`logmel`): the one that keeps the absolute
level.

On the soundscape view bird083's folds scored background-only rows higher than rows with a
call (mean top score 0.80 against 0.70 on fold 0; a call's row against empty rows: AUC 0.75):
PCEN and the median-subtracted channel make quiet noise look like structure, since both divide
out the level that tells a soundscape's empty row from a call."""
from experiments.birdsong.recipes.bird083 import Config as Recipe


class Config(Recipe):
    # from bird084 (its change to bird083)
    batch_augment = dict(Recipe.batch_augment, mix_p=0.5, mix_snr_db=(0.0, 20.0),
                         mix_from="no_call")
    # bird091's own change
    channels = ("pcen", "denoised", "logmel")
