"""The RFCX 2021 SED notebook's recipe, reproduced as faithfully as this pipeline allows: the
baseline every later experiment is compared with.

tf_efficientnet_b0 on a 3-channel log-mel (48 kHz, 512-sample window and hop, 128 mels,
0-24 kHz), attention head with a 1024-unit fc, 10-s crops around a random annotated call, clip
BCE, Adam at 1e-3 with linear warm-up over 10% of training then linear decay, batch 16, 50
epochs, Gaussian noise and Gaussian-SNR augmentation, 10-s windows every 5 s at validation.
"""
from configs.base import Config as Base


class Config(Base):
    competition = "rfcx"
    data_dir = "input/rfcx-demo"
    demo = "rfcx"
    solution_csv = "input/rfcx-demo.solution.csv"
    sample_rate = 48000
    duration = 10.0
    infer_hop = 5.0
    n_folds = 5
    n_fft = 512
    hop_length = 512
    mel_bins = 128
    fmin = 0.0
    fmax = 24000.0
    channels = ("logmel", "logmel", "logmel")
    backbone = "tf_efficientnet_b0"
    head_hidden = 1024
    spec_augment = dict(time_drop_width=64, time_stripes_num=2, freq_drop_width=8,
                        freq_stripes_num=2)
    loss = "panns"
    optimizer = "adam"
    weight_decay = 0.0
    lr = 1e-3
    scheduler = "linear"
    warmup_epochs = 5.0  # 10% of the 50 epochs
    epochs = 50
    batch_size = 16
    grad_clip = None
    amp = None
    augment = {"AddGaussianNoise": {"p": 0.5}, "AddGaussianSNR": {"p": 0.5}}
    batch_augment = None
