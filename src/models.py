"""The SED model: waveform -> log-mel (torchlibrosa) -> timm CNN -> pooling head.

The head scores every time step of the CNN's feature map (framewise) and pools them into one
clip score, so clip labels train it while inference can still read when a call happens
(PANNs' decision-level pooling; the RFCX SED notebook's recipe). The PANNs CNNs themselves, with
the official checkpoints' parameter names, live in panns.py and are chosen by backbone name.
"""
from __future__ import annotations

import difflib
from pathlib import Path

import timm
import torch
import torch.nn as nn
import torch.nn.functional as F
from torchlibrosa.augmentation import SpecAugmentation
from torchlibrosa.stft import LogmelFilterBank, Spectrogram

from augment import build_mel_augment, mix
from configs.base import HF_BACKBONES, TEACHER_BACKBONES
from heads import SedHead
from hf import build_hf
from panns import PANNS_MODELS, SMALL_CNNS, SmallCnn, build_panns, norm_mel_bins
from weights import fill_weights, match_weights, read_weights


class Features(nn.Module):
    """Fixed STFT + mel filterbank, always in fp32 (under fp16 autocast the power spectrum
    underflows and log-mel turns to -inf/NaN, a known PANNs pitfall), stacked as channels:

    - `logmel`: 10 log10 of mel power (dB);
    - `pcen`: per-channel energy normalisation, which evens out background level and gain
      (Wang et al. 2017; smoother s = 0.025, alpha 0.98, delta 2, r 0.5);
    - `power`: mel power compressed by a 0.3 power, a different contrast than dB;
    - `denoised`: log-mel minus each mel bin's median over the clip. The recording's steady
      background (recorder, wind, distant traffic) goes, so with one or two recordings per
      species the model cannot learn a species from its recording's noise;
    - `gated`: the denoised channel less `GATE_DB`, floored at 0: only what stands out of its
      bin's background (calls) is left, the rest reads as exact silence, whatever the site.
    """

    KINDS = ("logmel", "pcen", "power", "denoised", "gated")
    GATE_DB = 6.0  # a call's bins stand well above this; background varies within a few dB

    def __init__(self, sample_rate: int, n_fft: int, hop_length: int, mel_bins: int,
                 fmin: float, fmax: float | None, channels: tuple[str, ...] = ("logmel",),
                 mel_augment: dict | None = None) -> None:
        super().__init__()
        unknown = [c for c in channels if c not in self.KINDS]
        if unknown:
            raise SystemExit(f"unknown channel(s) {unknown}; known: {self.KINDS}")
        self.channels = tuple(channels)
        self.spectrogram = Spectrogram(n_fft=n_fft, hop_length=hop_length, win_length=n_fft,
                                       window="hann", center=True, pad_mode="reflect",
                                       freeze_parameters=True)
        self.mel = LogmelFilterBank(sr=sample_rate, n_fft=n_fft, n_mels=mel_bins, fmin=fmin,
                                    fmax=fmax or sample_rate / 2, ref=1.0, amin=1e-10,
                                    top_db=None, is_log=False, freeze_parameters=True)
        self.augment = build_mel_augment(mel_augment)  # training only (augment.MelAugment)
        smooth = 0.025  # PCEN's IIR smoother, unrolled into an FIR kernel of 4 time constants
        taps = torch.arange(int(4 / smooth), dtype=torch.float32)
        kernel = smooth * (1 - smooth) ** taps
        self.register_buffer("pcen_kernel", (kernel / kernel.sum()).flip(0)[None, None],
                             persistent=False)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        """(batch, samples) -> (batch, channels, frames, mel_bins)."""
        with torch.autocast(device_type=wave.device.type, enabled=False):
            power = self.mel(self.spectrogram(wave.float()))  # (B, 1, T, M)
            if self.augment is not None:
                power = self.augment(power)
            out = []
            for kind in self.channels:
                if kind in ("logmel", "denoised", "gated"):
                    db = 10 * torch.log10(power.clamp_min(1e-10))
                    if kind == "logmel":
                        out.append(db)
                    elif kind == "denoised":
                        out.append(db - median_over_time(db))
                    else:
                        out.append((db - median_over_time(db) - self.GATE_DB).clamp_min(0))
                elif kind == "power":
                    out.append(power.clamp_min(0) ** 0.3)
                else:
                    out.append(self.pcen(power))
            return torch.cat(out, dim=1)

    def pcen(self, power: torch.Tensor) -> torch.Tensor:
        b, _, t, m = power.shape
        e = power.transpose(2, 3).reshape(b * m, 1, t) * 2**31  # PCEN expects integer scale
        k = self.pcen_kernel.shape[-1]
        smooth = F.conv1d(F.pad(e, (k - 1, 0), mode="replicate"), self.pcen_kernel)
        p = (e / (1e-6 + smooth) ** 0.98 + 2) ** 0.5 - 2**0.5
        return p.reshape(b, m, 1, t).permute(0, 2, 3, 1)


def median_over_time(x: torch.Tensor) -> torch.Tensor:
    """(B, C, T, M) -> (B, C, 1, M) lower median per bin, through a sort (exports to ONNX)."""
    return x.sort(dim=2).values[:, :, (x.shape[2] - 1) // 2:(x.shape[2] + 1) // 2]


TEACHER_EMBEDDING = 1024  # BirdNET's embedding width (teacher.py): the student's to predict

OWN_BACKBONES = (*PANNS_MODELS, *SMALL_CNNS)  # this project's, besides timm's


def check_backbone(name: str) -> None:
    """Stop on a backbone name neither timm nor this project knows, with the closest known
    names, where timm would stop with a traceback."""
    if name in OWN_BACKBONES or name.startswith(("hf-hub:", "hf_hub:")) or timm.is_model(name):
        return
    close = difflib.get_close_matches(name, [*OWN_BACKBONES, *timm.list_models()], n=3)
    raise SystemExit(f"unknown backbone {name!r}: not a timm model (timm.list_models() lists "
                     f"them) nor one of this project's ({', '.join(OWN_BACKBONES)})"
                     + (f"; did you mean {' or '.join(map(repr, close))}?" if close else ""))


def first_convs(backbone: nn.Module) -> tuple[str, ...]:
    """The input convolution(s) timm names for a backbone: the layers whose pretrained
    weights are re-summed from ImageNet's 3 channels to ours."""
    names = (getattr(backbone, "pretrained_cfg", None) or {}).get("first_conv") or ()
    return (names,) if isinstance(names, str) else tuple(names)


def create_backbone(name: str, in_chans: int, pretrained: bool = False,
                    pretrained_path: str | None = None) -> nn.Module:
    """A timm CNN without its classifier (or PANNs' small `cnn6`/`cnn10` trunk). Weights come
    from timm's hub (`pretrained`), or from a local file (`pretrained_path`, how Kaggle kernels
    without internet attach them), which must fill every tensor of the backbone; asking for
    weights that cannot be had raises instead of training from random weights unnoticed."""
    if name in SMALL_CNNS:
        if pretrained or pretrained_path:
            raise RuntimeError(f"{name} is trained from scratch here: no pretrained weights for "
                               "it; set pretrained = False and pretrained_path = None")
        return SmallCnn(in_chans, **SMALL_CNNS[name])
    check_backbone(name)
    kwargs: dict = dict(in_chans=in_chans, num_classes=0, global_pool="")
    if pretrained_path:
        sd, _ = read_weights(pretrained_path)  # missing or unreadable: stops here
        model = timm.create_model(name, pretrained=False, **kwargs)
        print(fill_weights(model, sd, pretrained_path, f"backbone {name}",
                           adapt=first_convs(model)))
        return model
    if pretrained:
        try:
            return timm.create_model(name, pretrained=True, **kwargs)
        except Exception as e:  # no internet, unknown tag...: never fall back silently
            raise RuntimeError(
                f"pretrained weights for {name!r} could not be loaded ({e}). Attach them as a "
                "file and set pretrained_path, or set pretrained = False to train from scratch."
            ) from e
    return timm.create_model(name, pretrained=False, **kwargs)


class SedModel(nn.Module):
    def __init__(self, n_classes: int, sample_rate: int = 32000, n_fft: int = 1024,
                 hop_length: int = 320, mel_bins: int = 128, fmin: float = 50.0,
                 fmax: float | None = None, backbone: str = "tf_efficientnet_b0",
                 pretrained: bool = False, pretrained_path: str | None = None,
                 channels: tuple[str, ...] = ("logmel",), head_hidden: int = 512,
                 dropout: float = 0.2, pooling: str = "attention",
                 spec_augment: dict | None = None, freq_pool: str = "mean",
                 embed_dim: int = 0, mel_augment: dict | None = None) -> None:
        super().__init__()
        if freq_pool not in ("mean", "flatten"):
            raise SystemExit(f"unknown freq_pool {freq_pool!r}; known: mean, flatten")
        self.features = Features(sample_rate, n_fft, hop_length, mel_bins, fmin, fmax, channels,
                                 mel_augment)
        # models with equal specs compute the same fixed front end: an ensemble runs it once
        self.front_end_spec = ("sed", sample_rate, n_fft, hop_length, mel_bins, fmin, fmax,
                               tuple(channels))
        self.bn0 = nn.BatchNorm1d(mel_bins)  # per-mel-bin normalisation (norm_mel_bins)
        self.spec_augment = SpecAugmentation(**spec_augment) if spec_augment else None
        if pretrained_path and not Path(pretrained_path).is_file():
            raise FileNotFoundError(f"pretrained_path {pretrained_path} does not exist")
        self.backbone_name = backbone
        self.backbone = create_backbone(backbone, len(channels), pretrained and not pretrained_path)
        # `flatten` keeps where in frequency a feature fired (a bird's pitch band), which the
        # mean over the CNN's frequency axis throws away
        self.freq_pool = freq_pool
        width = self.backbone.num_features * (self._freq_steps(len(channels), mel_bins)
                                              if freq_pool == "flatten" else 1)
        self.head = SedHead(width, n_classes, head_hidden, dropout, pooling)
        # a teacher's embedding predicted from the pooled features (training only: distillation)
        self.embed = nn.Linear(width, embed_dim) if embed_dim else None
        if pretrained_path:
            self.load_pretrained(pretrained_path)

    @property
    def trunk(self) -> nn.Module:
        """What layer_decay and freeze_epochs act on (param_groups)."""
        return self.backbone

    def load_pretrained(self, path: str | Path) -> None:
        """Weights from a file: a whole SedModel's (this project's fold<K>.pt or full.pt, a
        trained run as the starting point) when every learnt tensor fits, else the backbone's,
        all of them or the run stops. The fixed front end (`features`) is never taken from
        the file: it follows this run's sample_rate, n_fft and mel settings."""
        sd, _ = read_weights(path)
        whole = match_weights(self, sd, skip=("features.",))
        if whole.complete:
            self.load_state_dict(whole.tensors, strict=False)
            print(f"pretrained_path {path}: loaded the whole model ({whole.count()}), a "
                  "trained run as the starting point")
            return
        print(fill_weights(self.backbone, sd, path, f"backbone {self.backbone_name}",
                           adapt=first_convs(self.backbone)))

    def _freq_steps(self, in_chans: int, mel_bins: int) -> int:
        """Height of the backbone's feature map for `mel_bins` mel bins."""
        was_training = self.backbone.training
        with torch.no_grad():
            steps = self.backbone.eval().forward_features(torch.zeros(1, in_chans, mel_bins, 64))
        self.backbone.train(was_training)
        return steps.shape[2]

    def forward(self, wave: torch.Tensor,
                mixup: tuple[torch.Tensor, torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
        """(batch, samples) -> clipwise_output (batch, classes) and framewise_output
        (batch, frames, classes), one frame per STFT hop, both probabilities. `mixup`
        = (permutation, weights) mixes the batch at the log-mel stage."""
        return self.from_front_end(self.front_end(wave), mixup)

    def front_end(self, wave: torch.Tensor) -> torch.Tensor:
        """(batch, samples) -> the fixed (untrained) features (batch, channels, frames, mels)."""
        return self.features(wave)

    def from_front_end(self, x: torch.Tensor,
                       mixup: tuple[torch.Tensor, torch.Tensor] | None = None
                       ) -> dict[str, torch.Tensor]:
        frames = x.shape[2]
        x = norm_mel_bins(self.bn0, x)
        if mixup is not None:
            x = mix(x, *mixup)
        if self.training and self.spec_augment is not None:
            x = self.spec_augment(x)
        x = x.transpose(2, 3)  # (B, C, M, T): frequency as height, time as width
        if x.is_cuda:
            x = x.contiguous(memory_format=torch.channels_last)
        feats = self.backbone.forward_features(x)  # (B, C', M', T')
        feats = feats.flatten(1, 2) if self.freq_pool == "flatten" else feats.mean(dim=2)
        clip, frame = self.head(feats)
        # back to the STFT frame rate, so frame i is at time i * hop / sample_rate
        frame = F.interpolate(frame.transpose(1, 2), size=frames, mode="nearest").transpose(1, 2)
        out = {"clipwise_output": clip, "framewise_output": frame}
        if self.embed is not None and self.training:
            out["embedding"] = self.embed(feats.mean(dim=2))
        return out


def build_model(cfg, n_classes: int, weights: bool = True) -> nn.Module:
    """The model a config describes; `weights=False` skips pretrained loading (the caller is
    about to load a trained checkpoint anyway)."""
    if cfg.backbone in TEACHER_BACKBONES:
        raise SystemExit(f"backbone {cfg.backbone!r} is the BirdNET teacher, not a CNN: train.py "
                         "and infer.py run it through teacher.py")
    path = cfg.pretrained_path if weights else None
    embed_dim = TEACHER_EMBEDDING if cfg.distill_embedding else 0
    if cfg.backbone in HF_BACKBONES:
        return build_hf(cfg, n_classes, path, embed_dim)
    if cfg.backbone.startswith("panns_"):
        if tuple(cfg.channels) != ("logmel",) or cfg.pooling != "attention" or cfg.pretrained:
            raise SystemExit(f"{cfg.backbone} takes one log-mel channel and its own head: set "
                             "channels=('logmel',), pooling='attention', and weights through "
                             "pretrained_path (the official AudioSet .pth)")
        return build_panns(cfg.backbone, n_classes, cfg.sample_rate, cfg.n_fft, cfg.hop_length,
                           cfg.mel_bins, cfg.fmin, cfg.fmax, cfg.dropout, path, cfg.spec_augment)
    return SedModel(n_classes=n_classes, sample_rate=cfg.sample_rate, n_fft=cfg.n_fft,
                    hop_length=cfg.hop_length, mel_bins=cfg.mel_bins, fmin=cfg.fmin,
                    fmax=cfg.fmax, backbone=cfg.backbone, pretrained=cfg.pretrained and weights,
                    pretrained_path=path, channels=tuple(cfg.channels),
                    head_hidden=cfg.head_hidden, dropout=cfg.dropout, pooling=cfg.pooling,
                    spec_augment=cfg.spec_augment, freq_pool=cfg.freq_pool,
                    embed_dim=embed_dim, mel_augment=cfg.mel_augment)
