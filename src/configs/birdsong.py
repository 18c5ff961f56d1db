"""Data block of the real-bird experiments: the 145 xeno-canto recordings of
../shared/data/birdsong (86 European species, 1-2 recordings each, 3 s to 3 min, weak labels).

Validation that means something on it: two folds dealt per species, so every validated species
has its other recording in training and a single-recording species is always trained on;
recordings are scored in full (max over windows): top-1, LWLRAP, and macro AUC over 5-s windows.
A bird experiment inherits this block and a recipe: `class Config(Birdsong, Exp001)`.
"""
from configs.base import Config as Base


class Config(Base):
    competition = "birdclef"
    data_dir = "../shared/data/birdsong"
    demo = None
    solution_csv = None
    n_folds = 2
    fold_scheme = "species"
    metric = "lwlrap"
    valid_every = 5  # 45 min of validation audio: every epoch would double a CPU run
    teacher_map = "src/configs/birdsong_birdnet.csv"  # two species BirdNET files under new genera
