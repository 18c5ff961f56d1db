"""The default recipe for weak-label bird competitions (BirdCLEF, Cornell 2020) trained from
scratch: what the birdsong ablation (docs/learning-from-scratch.md) kept, bird107 (bird080
with a log-mel channel, its frames trained, quiet negatives, and its crops heard over no-call
backgrounds as loud as a soundscape's, a recording scored by its highest frame), chosen on the
soundscape view of validation with focal top-1 kept
(docs/figures.md#the-soundscape-view-of-the-bird-recipe).

mobilenetv3_small on 3-s crops at 32 kHz, 6 per recording per epoch, each the loudest of 4
candidates (a call fills a short crop; the loudest finds it in a long weak-labelled file);
128 mels from 300 Hz (wind below); PCEN beside a `denoised` channel (each bin's median over
the clip removed, so a recording's background cannot stand in for its species) and the
log-mel itself (the level, which tells a soundscape's quiet empty rows from its calls); the
CNN's frequency axis flattened into the head (pitch matters); softmax cross-entropy plus BCE
(one species per recording) plus BCE on each class's highest frame (rows are read off the
frames, which clip labels alone leave free where attention looks away); a bag of 2 seeds
per fold, 30 epochs each, kept after the last (their mean is validated and inferred: one
model's seed-to-seed spread is as large as most changes). Validation and inference read 3-s
windows, as trained, every 1.5 s, smooth each 5-s row with its neighbours, and score a whole
recording by its highest frame (the mean of its frames won before quiet negatives, bird079, and
lost top-1 in each seed after them).

A soundscape's rows are mostly site noise, which focal recordings rarely let a model hear
alone: 15% of the draws of a recording take its quietest crop instead, every class absent
(`quiet_negatives`), and 80% of the crops are laid over such a no-call crop, from 5 dB above
them to 15 dB below (`NO_CALL_BACKGROUND`). It needs no other audio. Where you have no-call
audio of your region (`negative_audio`), its crops join the negatives and backgrounds; with
Cornell's hour the birdsong runs did better without quiet negatives (bird097 against bird098,
one seed): try `quiet_negatives = 0.0` there.
Start a weak-label experiment from here: `class Config(Bird)` with your data block. Runs as is
on a synthetic BirdCLEF-layout demo: `bash run.sh bird`.
"""
from configs.base import Config as Base

NO_CALL_BACKGROUND = dict(mix_p=0.8, mix_snr_db=(-5.0, 15.0), mix_from="no_call")


class Config(Base):
    competition = "birdclef"
    data_dir = "input/birdclef-demo"
    demo = "birdclef"
    solution_csv = "input/birdclef-demo.solution.csv"
    sample_rate = 32000
    duration = 3.0
    infer_hop = 1.5  # 3-s windows (infer_duration None = duration) overlapping by half
    infer_temporal = dict(smoothing=0.5)
    crops_per_file = 6
    crop_pick = 4
    quiet_negatives = 0.15
    batch_augment = dict(Base.batch_augment, **NO_CALL_BACKGROUND)
    mel_bins = 128
    hop_length = 512
    fmin = 300.0
    channels = ("pcen", "denoised", "logmel")
    backbone = "mobilenetv3_small_100"
    freq_pool = "flatten"
    loss = "softmax"
    loss_args = {"frame_weight": 0.5}
    epochs = 30
    seed_bag = 2
    keep = "last"  # each model after its last epoch, not picked on the validation fold
    valid_every = 30  # so only the kept epoch is validated (45 min of audio on the birdsong folds)
    batch_size = 16
    lr = 2e-3
