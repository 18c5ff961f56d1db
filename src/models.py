"""The SED model: waveform -> log-mel (torchlibrosa) -> timm CNN -> attention head.

The head scores every time step of the CNN's feature map (framewise) and pools them with
learnt attention into one clip score, so clip labels train it while inference can still read
when a call happens (PANNs' decision-level attention; the RFCX SED notebook's recipe).
"""
from __future__ import annotations

from pathlib import Path

import timm
import torch
import torch.nn as nn
import torch.nn.functional as F
from torchlibrosa.stft import LogmelFilterBank, Spectrogram


class LogMel(nn.Module):
    """Fixed STFT + mel filterbank, always in fp32: under fp16 autocast the power spectrum
    underflows and log-mel turns to -inf/NaN (a known PANNs pitfall)."""

    def __init__(self, sample_rate: int, n_fft: int, hop_length: int, mel_bins: int,
                 fmin: float, fmax: float | None) -> None:
        super().__init__()
        self.spectrogram = Spectrogram(n_fft=n_fft, hop_length=hop_length, win_length=n_fft,
                                       window="hann", center=True, pad_mode="reflect",
                                       freeze_parameters=True)
        self.logmel = LogmelFilterBank(sr=sample_rate, n_fft=n_fft, n_mels=mel_bins, fmin=fmin,
                                       fmax=fmax or sample_rate / 2, ref=1.0, amin=1e-10,
                                       top_db=None, freeze_parameters=True)

    def forward(self, wave: torch.Tensor) -> torch.Tensor:
        """(batch, samples) -> (batch, 1, frames, mel_bins) in dB."""
        with torch.autocast(device_type=wave.device.type, enabled=False):
            return self.logmel(self.spectrogram(wave.float()))


class AttentionHead(nn.Module):
    """Per-frame class probabilities pooled over time by a softmax attention whose logits are
    clamped to +-10, so one frame can never take all the weight through an overflow."""

    def __init__(self, in_features: int, n_classes: int, hidden: int, dropout: float) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(in_features, hidden)
        self.att = nn.Conv1d(hidden, n_classes, kernel_size=1)
        self.cla = nn.Conv1d(hidden, n_classes, kernel_size=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(batch, channels, steps) -> clipwise (batch, classes), framewise (batch, steps, classes)."""
        # smooth over neighbouring steps: max keeps short calls, mean keeps long ones
        x = F.max_pool1d(x, 3, 1, 1) + F.avg_pool1d(x, 3, 1, 1)
        x = self.dropout(x)
        x = F.relu(self.fc(x.transpose(1, 2))).transpose(1, 2)
        x = self.dropout(x)
        weights = torch.softmax(torch.clamp(self.att(x), -10, 10), dim=-1)
        frame_prob = torch.sigmoid(self.cla(x))
        clip_prob = (weights * frame_prob).sum(dim=-1)
        return clip_prob, frame_prob.transpose(1, 2)


def create_backbone(name: str, in_chans: int, pretrained: bool = False,
                    pretrained_path: str | None = None) -> nn.Module:
    """A timm CNN without its classifier. Weights come from timm's hub (`pretrained`), or from a
    local file (`pretrained_path`, how Kaggle kernels without internet attach them); asking for
    weights that cannot be had raises instead of training from random weights unnoticed."""
    kwargs: dict = dict(in_chans=in_chans, num_classes=0, global_pool="")
    if pretrained_path:
        if not Path(pretrained_path).is_file():
            raise FileNotFoundError(f"pretrained_path {pretrained_path} does not exist")
        return timm.create_model(name, pretrained=True,
                                 pretrained_cfg_overlay=dict(file=str(pretrained_path)), **kwargs)
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
                 pretrained: bool = False, pretrained_path: str | None = None, in_chans: int = 1,
                 head_hidden: int = 512, dropout: float = 0.2) -> None:
        super().__init__()
        self.in_chans = in_chans
        self.frontend = LogMel(sample_rate, n_fft, hop_length, mel_bins, fmin, fmax)
        self.bn0 = nn.BatchNorm2d(mel_bins)  # per-mel-bin normalisation of the log-mel
        self.backbone = create_backbone(backbone, in_chans, pretrained, pretrained_path)
        self.head = AttentionHead(self.backbone.num_features, n_classes, head_hidden, dropout)

    def forward(self, wave: torch.Tensor) -> dict[str, torch.Tensor]:
        """(batch, samples) -> clipwise_output (batch, classes) and framewise_output
        (batch, frames, classes), one frame per STFT hop, both probabilities."""
        x = self.frontend(wave)  # (B, 1, T, M)
        frames = x.shape[2]
        x = self.bn0(x.transpose(1, 3)).transpose(1, 3)
        x = x.transpose(2, 3)  # (B, 1, M, T): frequency as height, time as width
        if self.in_chans > 1:
            x = x.expand(-1, self.in_chans, -1, -1)
        if x.is_cuda:
            x = x.contiguous(memory_format=torch.channels_last)
        feats = self.backbone.forward_features(x)  # (B, C, M', T')
        clip, frame = self.head(feats.mean(dim=2))
        # back to the STFT frame rate, so frame i is at time i * hop / sample_rate
        frame = F.interpolate(frame.transpose(1, 2), size=frames, mode="nearest").transpose(1, 2)
        return {"clipwise_output": clip, "framewise_output": frame}


def build_model(cfg, n_classes: int, weights: bool = True) -> SedModel:
    """The model a config describes; `weights=False` skips pretrained loading (the caller is
    about to load a trained checkpoint anyway)."""
    return SedModel(n_classes=n_classes, sample_rate=cfg.sample_rate, n_fft=cfg.n_fft,
                    hop_length=cfg.hop_length, mel_bins=cfg.mel_bins, fmin=cfg.fmin,
                    fmax=cfg.fmax, backbone=cfg.backbone,
                    pretrained=cfg.pretrained and weights,
                    pretrained_path=cfg.pretrained_path if weights else None,
                    in_chans=cfg.in_chans, head_hidden=cfg.head_hidden, dropout=cfg.dropout)
