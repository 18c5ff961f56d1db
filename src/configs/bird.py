"""The default recipe for weak-label bird competitions (BirdCLEF, Cornell 2020) trained from
scratch: what the birdsong ablation (README, "Learning real birds from scratch") kept.

mobilenetv3_small on 5-s crops at 32 kHz (64 mels from 300 Hz, wind below), 4 crops per
recording per epoch, each the loudest of 4 candidates (finds the calls in a long weak-labelled
file); log-mel plus a `denoised` channel (each bin's median over the clip removed, so the
recording's background cannot stand in for the species); the CNN's frequency axis flattened
into the head (pitch matters); softmax cross-entropy plus BCE (one species per recording);
60 epochs. Start a weak-label experiment from it: `class Config(Bird)` with your data block.
Runs as is on a synthetic BirdCLEF-layout demo: `bash run.sh bird`.
"""
from configs.base import Config as Base


class Config(Base):
    competition = "birdclef"
    data_dir = "input/birdclef-demo"
    demo = "birdclef"
    solution_csv = "input/birdclef-demo.solution.csv"
    sample_rate = 32000
    duration = 5.0
    crops_per_file = 4
    crop_pick = 4
    mel_bins = 64
    hop_length = 512
    fmin = 300.0
    channels = ("logmel", "denoised")
    backbone = "mobilenetv3_small_100"
    freq_pool = "flatten"
    loss = "softmax"
    epochs = 60
    batch_size = 16
    lr = 2e-3
