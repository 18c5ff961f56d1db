"""BirdCLEF 2022 (kaggle.com/competitions/birdclef-2022) with the weak-label recipe `bird`.

Scored as Kaggle scored it: a weighted accuracy of True/False per `test.csv` row
(`<file_id>_<bird>_<end_time>`, a 5-s window of a 1-min 32-kHz soundscape and one of the 21
birds of `scored_birds.json`), each scored bird weighing the same and its positives as much as
its negatives (`weighted_accuracy`). The model learns every class of `train_metadata.csv`; a
row is True when its bird scores `threshold` or more, so choose `threshold` on the OOF (the
CV line prints the score at this one). Runs as is on a synthetic 2022-layout demo (`bash
run.sh birdclef2022`); on Kaggle set `data_dir` to /kaggle/input/birdclef-2022.
"""
from configs.bird import Config as Bird


class Config(Bird):
    competition = "birdclef2022"
    data_dir = "input/birdclef-2022"
    demo = "birdclef2022"
    solution_csv = "input/birdclef-2022.solution.csv"
    sample_rate = 32000  # the competition's audio rate; rows are 5 s (the format's rows)
