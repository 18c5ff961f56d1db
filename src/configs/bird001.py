"""Real birds: the 145 xeno-canto recordings of ../shared/data/birdsong (86 species, BirdCLEF
layout, weak labels, 3 s to 3 min). Many random 5-s crops per file per epoch find the calls in
long recordings; validation scores every recording in full (framewise max over 5-s windows).
Two folds, so most species with two recordings have one in training for each validation fold."""
from configs.exp001 import Config as Base


class Config(Base):
    competition = "birdclef"
    data_dir = "../shared/data/birdsong"
    demo = None
    solution_csv = None
    n_folds = 2
    crops_per_file = 4
    epochs = 15
