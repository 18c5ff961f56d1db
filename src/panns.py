"""PANNs Cnn14 and Cnn14_DecisionLevelAtt (Kong et al. 2020), written so that their state dicts
match the official AudioSet checkpoints key for key and shape for shape.

Why: Kaggle kernels run offline, so a user attaches `Cnn14_mAP=0.431.pth` or
`Cnn14_DecisionLevelAtt_mAP0.425.pth` as a dataset, points `pretrained_path` at it, and we load it
strictly (any architecture mismatch is an error, never silently random weights), then swap the
527-class AudioSet head for a fresh one sized for the competition. Both models return sigmoid
probabilities: `clipwise_output` (batch, classes) and `framewise_output` (batch, frames, classes),
one frame per STFT frame, so SED post-processing can read when a call happens.
"""
from __future__ import annotations

import warnings
from itertools import pairwise
from pathlib import Path

import torch
import torch.nn as nn
import torch.nn.functional as F
from torchlibrosa.augmentation import SpecAugmentation
from torchlibrosa.stft import LogmelFilterBank, Spectrogram

from augment import mix
from weights import fill_weights, match_weights, read_weights

AUDIOSET_CLASSES = 527
FRONT_END = ("spectrogram_extractor", "logmel_extractor")  # fixed DSP weights: never re-initialised
CHANNELS = (1, 64, 128, 256, 512, 1024, 2048)


def norm_mel_bins(bn: nn.BatchNorm1d, x: torch.Tensor) -> torch.Tensor:
    """PANNs' bn0: each mel bin of x (batch, channels, frames, mel_bins) normalised over
    batch, frames and channels, by a BatchNorm1d over (batch, mel_bins, frames * channels).
    Not a BatchNorm2d over `x.transpose(1, 3)`: with one channel that tensor looks
    channels-last, and torch's CPU BatchNorm2d backward then returns wrong weight and bias
    gradients whenever the incoming gradient has the other layout."""
    b, c, t, m = x.shape
    y = bn(x.permute(0, 3, 2, 1).reshape(b, m, t * c))
    return y.reshape(b, m, t, c).permute(0, 3, 2, 1)


def _uninit(layer_cls: type[nn.Module], *args, **kwargs) -> nn.Module:
    """A conv/linear layer built without PyTorch's default init: `_init_weights` overwrites it
    anyway, and skipping it halves the construction time of this 80M-parameter net."""
    return nn.utils.skip_init(layer_cls, *args, **kwargs)


def _init_weights(module: nn.Module) -> None:
    """PANNs init (xavier-uniform conv/linear, zero bias; BN scale 1, shift 0): the fresh head
    starts like the official one did."""
    if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Linear)):
        nn.init.xavier_uniform_(module.weight)
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.modules.batchnorm._BatchNorm):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


class ConvBlock(nn.Module):
    """Two 3x3 conv + BN + ReLU, then average pooling (the checkpoint names: conv1, bn1, conv2, bn2)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv1 = _uninit(nn.Conv2d, in_channels, out_channels, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = _uninit(nn.Conv2d, out_channels, out_channels, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor, pool: int) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)))
        x = F.relu(self.bn2(self.conv2(x)))
        return F.avg_pool2d(x, pool) if pool > 1 else x


class AttBlock(nn.Module):
    """Decision-level attention: per-step class probabilities (`cla`) pooled by a softmax over time
    of clamped attention logits (`att`), so one step cannot take all the weight by overflow.
    `bn_att` is unused in the forward pass but is in the official checkpoint, so it must exist."""

    def __init__(self, in_features: int, n_classes: int) -> None:
        super().__init__()
        self.att = _uninit(nn.Conv1d, in_features, n_classes, kernel_size=1, bias=True)
        self.cla = _uninit(nn.Conv1d, in_features, n_classes, kernel_size=1, bias=True)
        self.bn_att = nn.BatchNorm1d(n_classes)
        self.apply(_init_weights)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(batch, features, steps) -> clipwise (batch, classes), per-step (batch, classes, steps).
        Pooled in fp32 so the clip probability stays a convex mix of the step probabilities."""
        weights = torch.softmax(self.att(x).float().clamp(-10, 10), dim=-1)
        steps = torch.sigmoid(self.cla(x).float())
        return (weights * steps).sum(dim=-1), steps


class _Cnn14Base(nn.Module):
    """Log-mel front end, bn0 over mel bins, six conv blocks and fc1, shared by both models; each
    subclass names its class-count-sized head (`head_name`) and builds it (`_new_head`).
    `dropout` follows each conv block and `head_dropout` surrounds fc1 (official: 0.2 and 0.5)."""

    head_name = ""

    def __init__(self, n_classes: int = AUDIOSET_CLASSES, sample_rate: int = 32000,
                 n_fft: int = 1024, hop_length: int = 320, mel_bins: int = 64, fmin: float = 50,
                 fmax: float | None = 14000, dropout: float = 0.2, head_dropout: float = 0.5) -> None:
        super().__init__()
        self.n_classes, self.dropout, self.head_dropout = n_classes, dropout, head_dropout
        self.spectrogram_extractor = Spectrogram(
            n_fft=n_fft, hop_length=hop_length, win_length=n_fft, window="hann", center=True,
            pad_mode="reflect", freeze_parameters=True)
        self.logmel_extractor = LogmelFilterBank(
            sr=sample_rate, n_fft=n_fft, n_mels=mel_bins, fmin=fmin, fmax=fmax or sample_rate / 2,
            ref=1.0, amin=1e-10, top_db=None, freeze_parameters=True)
        self.front_end_spec = ("panns", sample_rate, n_fft, hop_length, mel_bins, fmin, fmax)
        self.bn0 = nn.BatchNorm1d(mel_bins)  # over each mel bin: norm_mel_bins
        self.spec_augment: nn.Module | None = None  # set by build_panns; holds no weights
        for i, (c_in, c_out) in enumerate(pairwise(CHANNELS), start=1):
            self.add_module(f"conv_block{i}", ConvBlock(c_in, c_out))
        self.fc1 = _uninit(nn.Linear, 2048, 2048, bias=True)
        setattr(self, self.head_name, self._new_head(n_classes))
        for name, child in self.named_children():
            if name not in FRONT_END:
                child.apply(_init_weights)

    def _new_head(self, n_classes: int) -> nn.Module:
        raise NotImplementedError

    def reset_head(self, n_classes: int) -> None:
        """A fresh PANNs-initialised head for `n_classes`, on the trunk's device: what fine-tuning
        a 527-class AudioSet checkpoint on another label set needs."""
        head = self._new_head(n_classes).to(self.fc1.weight.device)
        head.apply(_init_weights)
        setattr(self, self.head_name, head)
        self.n_classes = n_classes

    def front_end(self, wave: torch.Tensor) -> torch.Tensor:
        """(batch, samples) -> log-mel (batch, 1, frames, mel), the fixed part an ensemble of
        models with equal `front_end_spec` computes once. It stays fp32: under fp16 autocast the
        power spectrum underflows to -inf dB."""
        with torch.autocast(device_type=wave.device.type, enabled=False):
            return self.logmel_extractor(self.spectrogram_extractor(wave.float()))

    def forward(self, wave: torch.Tensor, mixup=None) -> dict[str, torch.Tensor]:
        return self.from_front_end(self.front_end(wave), mixup)

    def from_front_end(self, x: torch.Tensor, mixup=None) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def _features(self, x: torch.Tensor, mixup=None) -> tuple[torch.Tensor, int]:
        """Log-mel (batch, 1, frames, mel) -> CNN features (batch, 2048, steps) and the STFT
        frame count. `mixup` = (permutation, weights) mixes the batch at the log-mel stage, as
        PANNs did."""
        frames = x.shape[2]
        x = norm_mel_bins(self.bn0, x)
        if mixup is not None:
            x = mix(x, *mixup)
        if self.training and self.spec_augment is not None:
            x = self.spec_augment(x)
        for i in range(1, 7):
            x = getattr(self, f"conv_block{i}")(x, pool=2 if i < 6 else 1)
            x = F.dropout(x, self.dropout, self.training)
        return x.mean(dim=3), frames  # average over frequency

    def _step_features(self, x: torch.Tensor) -> torch.Tensor:
        """Official decision-level smoothing (max + mean over 3 steps), then dropout/fc1/ReLU/dropout:
        (batch, 2048, steps) -> (batch, steps, 2048)."""
        x = F.max_pool1d(x, 3, 1, 1) + F.avg_pool1d(x, 3, 1, 1)
        x = F.dropout(x, self.head_dropout, self.training)
        x = F.relu(self.fc1(x.transpose(1, 2)))
        return F.dropout(x, self.head_dropout, self.training)

    @staticmethod
    def _to_frames(steps: torch.Tensor, frames: int) -> torch.Tensor:
        """(batch, classes, steps) -> (batch, frames, classes): repeat each CNN step over the STFT
        frames it covers, so framewise output lines up with the audio clock."""
        return F.interpolate(steps, size=frames, mode="nearest").transpose(1, 2)


class Cnn14(_Cnn14Base):
    """PANNs Cnn14 (a clip tagger). Clipwise output follows the official pooling; as the official
    model has no frame head, framewise output applies fc1 and fc_audioset to each smoothed step
    (max + mean, the same scale as the clip pooling's max + mean over time)."""

    head_name = "fc_audioset"

    def _new_head(self, n_classes: int) -> nn.Module:
        return _uninit(nn.Linear, 2048, n_classes, bias=True)

    def from_front_end(self, x: torch.Tensor, mixup=None) -> dict[str, torch.Tensor]:
        x, frames = self._features(x, mixup)
        clip = x.amax(dim=2) + x.mean(dim=2)
        clip = F.dropout(clip, self.head_dropout, self.training)
        clip = F.dropout(F.relu(self.fc1(clip)), self.head_dropout, self.training)
        clipwise = torch.sigmoid(self.fc_audioset(clip).float())
        steps = torch.sigmoid(self.fc_audioset(self._step_features(x)).float())  # (B, steps, C)
        return {"clipwise_output": clipwise,
                "framewise_output": self._to_frames(steps.transpose(1, 2), frames)}


class Cnn14DecisionLevelAtt(_Cnn14Base):
    """PANNs Cnn14_DecisionLevelAtt: a SED model whose clip score is an attention-weighted mean of
    its per-step scores, which are the framewise output."""

    head_name = "att_block"  # att, cla and bn_att are all sized by the class count

    def _new_head(self, n_classes: int) -> nn.Module:
        return AttBlock(2048, n_classes)

    def from_front_end(self, x: torch.Tensor, mixup=None) -> dict[str, torch.Tensor]:
        x, frames = self._features(x, mixup)
        clipwise, steps = self.att_block(self._step_features(x).transpose(1, 2))
        return {"clipwise_output": clipwise, "framewise_output": self._to_frames(steps, frames)}


class SmallCnn(nn.Module):
    """The trunks of PANNs' CNN6 (single 5x5 convs) and CNN10 (pairs of 3x3 convs): four blocks of
    64-512 channels, each halving time and frequency. A few million parameters instead of Cnn14's
    80M or EfficientNet's ImageNet-sized stem: what training from scratch on tens of recordings
    per class can fit. A timm-like backbone for SedModel (`forward_features`, `num_features`)."""

    WIDTHS = (64, 128, 256, 512)

    def __init__(self, in_chans: int, kernel: int = 3, double: bool = True) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for c_in, c_out in pairwise((in_chans, *self.WIDTHS)):
            for i in range(2 if double else 1):
                layers += [nn.Conv2d(c_in if i == 0 else c_out, c_out, kernel,
                                     padding=kernel // 2, bias=False),
                           nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
            layers.append(nn.AvgPool2d(2))
        self.blocks = nn.Sequential(*layers)
        self.num_features = self.WIDTHS[-1]
        self.apply(_init_weights)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, channels, mel, frames) -> (batch, 512, mel / 16, frames / 16)."""
        return self.blocks(x)


SMALL_CNNS = {"cnn6": dict(kernel=5, double=False), "cnn10": dict(kernel=3, double=True)}


PANNS_MODELS: dict[str, type[_Cnn14Base]] = {"panns_cnn14": Cnn14,
                                             "panns_cnn14_att": Cnn14DecisionLevelAtt}


def load_panns_checkpoint(model: _Cnn14Base, path: str | Path, n_classes: int) -> _Cnn14Base:
    """Load a checkpoint into a 527-class `model`, then give it a head for `n_classes`.

    An official AudioSet file ({"model": state_dict} or a bare state dict, any common prefix)
    loads strictly: every tensor, the 527-class head included, so the other PANNs model's file
    or another mel_bins/n_fft is refused before anything is loaded. This project's own
    checkpoints (fold<K>.pt, full.pt of a PANNs run) are a starting point: the whole model when
    its head has `n_classes`, else the trunk under a fresh head; their fixed front end is
    rebuilt from this run's config, not taken from the file."""
    path = Path(path)
    sd, meta = read_weights(path)
    name = type(model).__name__
    if "classes" in meta and "config" in meta:  # a fold<K>.pt / full.pt of this project
        model.reset_head(n_classes)
        whole = match_weights(model, sd, skip=FRONT_END)
        if whole.complete:
            model.load_state_dict(whole.tensors, strict=False)
            print(f"pretrained_path {path}: loaded the whole {name} ({whole.count()}), a "
                  "trained run as the starting point")
        else:
            print(fill_weights(model, sd, path, f"the {name} trunk",
                               skip=FRONT_END + (model.head_name,)))
        return model
    found = match_weights(model, sd)  # checked first, so a failed load leaves model intact
    if not found.complete or found.unused:
        raise SystemExit(f"pretrained_path {path} does not fit {name} (wrong model name, "
                         f"mel_bins or n_fft?): {found.report()}")
    mel = model.logmel_extractor.melW.detach().clone()  # from our sample_rate/fmin/fmax
    model.load_state_dict(found.tensors, strict=False)
    if (model.logmel_extractor.melW - mel).abs().max() > 1e-4:
        warnings.warn(f"{path} was trained with another mel filterbank (sample_rate/fmin/fmax) "
                      "than configured; using the checkpoint's, as its weights expect it.")
    print(f"pretrained_path {path}: loaded {name} ({found.count()}); a new head for "
          f"{n_classes} classes")
    model.reset_head(n_classes)
    return model


def build_panns(name: str, n_classes: int, sample_rate: int, n_fft: int, hop_length: int,
                mel_bins: int, fmin: float, fmax: float | None, dropout: float,
                pretrained_path: str | None, spec_augment: dict | None = None) -> _Cnn14Base:
    """A PANNs model by name; with `pretrained_path`, AudioSet weights loaded strictly and a new
    head for `n_classes`, else random PANNs init."""
    if name not in PANNS_MODELS:
        raise SystemExit(f"unknown PANNs backbone {name!r}; known: {sorted(PANNS_MODELS)}")
    if pretrained_path and not Path(pretrained_path).is_file():
        raise FileNotFoundError(f"pretrained_path {pretrained_path} does not exist")
    kwargs = dict(sample_rate=sample_rate, n_fft=n_fft, hop_length=hop_length, mel_bins=mel_bins,
                  fmin=fmin, fmax=fmax, dropout=dropout)
    if not pretrained_path:
        model = PANNS_MODELS[name](n_classes, **kwargs)
    else:
        model = load_panns_checkpoint(PANNS_MODELS[name](AUDIOSET_CLASSES, **kwargs),
                                      pretrained_path, n_classes)
    model.spec_augment = SpecAugmentation(**spec_augment) if spec_augment else None
    return model
