"""Demo baseline: the RFCX SED recipe (timm CNN on log-mel, attention head, clipwise BCE)
on the synthetic RFCX-layout competition that run.sh generates, sized for a 2-core CPU."""
from configs.base import Config as Base


class Config(Base):
    competition = "rfcx"
    data_dir = "input/rfcx-demo"
    demo = "rfcx"
    solution_csv = "input/rfcx-demo.solution.csv"
    sample_rate = 32000
    duration = 5.0
    crops_per_file = 6  # many short crops per file: more steps from few recordings
    n_folds = 4
    mel_bins = 64
    hop_length = 512
    fmin = 300.0
    backbone = "mobilenetv3_small_100"  # small and fast: trains from scratch in minutes on a CPU
    epochs = 8
    batch_size = 16
    lr = 2e-3
