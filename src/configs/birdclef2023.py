"""BirdCLEF 2023 (kaggle.com/competitions/birdclef-2023) with the weak-label recipe `bird`.

Scored as Kaggle scored it: padded cmAP (5 rows of ones added to truth and scores, then the
macro average precision over the classes) on 5-s rows `<soundscape>_<end second>` of 32-kHz
soundscapes, a probability per class. Runs as is on a synthetic 2023-layout demo (`bash run.sh
birdclef2023`); on Kaggle set `data_dir` to /kaggle/input/birdclef-2023.
"""
from configs.bird import Config as Bird


class Config(Bird):
    competition = "birdclef2023"
    data_dir = "input/birdclef-2023"
    demo = "birdclef2023"
    solution_csv = "input/birdclef-2023.solution.csv"
    sample_rate = 32000  # the competition's audio rate; rows are 5 s (the format's rows)
