"""BirdCLEF 2024 (kaggle.com/competitions/birdclef-2024) with the weak-label recipe `bird`.

Scored as Kaggle scores it: macro ROC-AUC over the classes with a positive (`macro_auc`), on
5-s rows `<soundscape>_<end second>` of 32-kHz soundscapes. Runs as is on a synthetic 2024-layout
demo (`bash run.sh birdclef2024`); on Kaggle set `data_dir` to /kaggle/input/birdclef-2024.
Its unlabeled `unlabeled_soundscapes/` train a second round (self-training): `distill_audio =
"soundscapes"`, `pseudo_labels = "birdclef2024"`, `distill_weight = 1.0` in a config of its own
(docs/competitions.md).
"""
from configs.bird import Config as Bird


class Config(Bird):
    competition = "birdclef2024"
    data_dir = "input/birdclef-2024"
    demo = "birdclef2024"
    solution_csv = "input/birdclef-2024.solution.csv"
    sample_rate = 32000  # the competition's audio rate; rows are 5 s (the format's rows)
