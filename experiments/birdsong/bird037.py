"""Pseudo-labels without a teacher: bird009's own out-of-fold 5-s windows (each predicted by the
fold model that never saw the recording) label the validation recordings as unlabeled audio,
trained as softmax targets weighted by confidence (as bird033 does with BirdNET's). Needs
oof/bird009.rows.npz: `python src/train.py bird009` first."""
from experiments.birdsong.recipes.bird009 import Config as Recipe


class Config(Recipe):
    distill_weight = 1.0
    distill_loss = "ce"
    distill_audio = "valid"
    pseudo_labels = "oof/bird009.rows.npz"
