"""BirdCLEF 2024 (kaggle.com/competitions/birdclef-2024) with the weak-label recipe `bird`.

Scored as Kaggle scores it: macro ROC-AUC over the classes with a positive (`macro_auc`), on
5-s rows `<soundscape>_<end second>` of 32-kHz soundscapes. Runs as is on a synthetic 2024-layout
demo (`bash run.sh birdclef2024`); on Kaggle set `data_dir` to /kaggle/input/birdclef-2024.
The `unlabeled_soundscapes/` are not read; they suit `negative_audio` only after checking
that they hold none of the classes, which they do not promise.
"""
from configs.bird import Config as Bird


class Config(Bird):
    competition = "birdclef2024"
    data_dir = "input/birdclef-2024"
    demo = "birdclef2024"
    solution_csv = "input/birdclef-2024.solution.csv"
    sample_rate = 32000  # the competition's audio rate; rows are 5 s (the format's rows)
