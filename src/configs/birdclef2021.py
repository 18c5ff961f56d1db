"""BirdCLEF 2021 (kaggle.com/competitions/birdclef-2021) with the weak-label recipe `bird`.

Scored as Kaggle scored it: row-wise micro F1 of the species named per row (`nocall` for
none) on the rows of `test.csv`, `<audio_id>_<site>_<seconds>`, 5-s windows of 10-min 32-kHz
soundscapes; a row names the classes scoring `threshold` or more (ensemble.py searches it on
the OOF). Training audio is `train_short_audio/`. Runs as is on a synthetic 2021-layout demo
(`bash run.sh birdclef2021`); on Kaggle set `data_dir` to /kaggle/input/birdclef-2021.
"""
from configs.bird import Config as Bird


class Config(Bird):
    competition = "birdclef2021"
    data_dir = "input/birdclef-2021"
    demo = "birdclef2021"
    solution_csv = "input/birdclef-2021.solution.csv"
    sample_rate = 32000  # the competition's audio rate; rows are 5 s (the format's rows)
