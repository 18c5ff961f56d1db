"""Waveform augmentation: audiomentations transforms chosen by name in the config (per clip, in
the loader workers) and cheap gain + noise on whole batches (in the training step)."""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

WaveTransform = Callable[[np.ndarray, int], np.ndarray]


def build_wave_augment(spec: dict[str, dict] | None) -> WaveTransform | None:
    """`{"AddGaussianSNR": {"p": 0.5, ...}, ...}` -> one callable applying them in order.

    Real recordings hold stretches of exact digital silence; SNR- and gain-based transforms can
    turn those into NaN or inf, so the output is made finite and kept within [-1, 1]
    (a clip the transforms broke is returned unchanged rather than passed on).
    """
    if not spec:
        return None
    # imported only when a config names transforms: it brings scipy.signal, which would
    # otherwise add a second to the start of every script
    import audiomentations

    transforms = []
    for name, kwargs in spec.items():
        cls = getattr(audiomentations, name, None)
        if cls is None:
            raise SystemExit(f"augment: audiomentations has no transform {name!r}")
        transforms.append(cls(**kwargs))
    compose = audiomentations.Compose(transforms)

    def apply(wave: np.ndarray, sample_rate: int) -> np.ndarray:
        out = compose(samples=wave, sample_rate=sample_rate)
        if not np.isfinite(out).all():
            return wave
        return np.clip(out, -1.0, 1.0).astype(np.float32, copy=False)

    return apply


class BatchAugment:
    """Gain and Gaussian noise at a random SNR (and, with `mix_p`, another clip of the batch
    as background: any clip, or with `mix_from="no_call"` only a crop without a label, such
    as a negative soundscape's), drawn per clip and applied to the whole batch on its device
    inside the training step.

    The same transforms run in the loader workers through audiomentations cost ~2 ms per 5-s
    clip (float64 noise), taken from the cores the model trains on; here they are one tensor
    op per batch. Parameters come from torch's CPU generator (saved on resume), the noise from
    the batch's device. Digital silence stays silence: the noise scales with the clip's RMS.
    """

    def __init__(self, gain_db: tuple[float, float] = (-6.0, 6.0), gain_p: float = 0.5,
                 snr_db: tuple[float, float] = (10.0, 40.0), noise_p: float = 0.5,
                 mix_p: float = 0.0, mix_snr_db: tuple[float, float] = (3.0, 15.0),
                 mix_from: str = "any") -> None:
        if mix_from not in ("any", "no_call"):
            raise SystemExit(f"batch_augment mix_from {mix_from!r}: any or no_call")
        self.gain_db, self.gain_p = gain_db, gain_p
        self.snr_db, self.noise_p = snr_db, noise_p
        self.mix_p, self.mix_snr_db, self.mix_from = mix_p, mix_snr_db, mix_from

    @staticmethod
    def _draw(n: int, low_high: tuple[float, float], p: float) -> tuple[torch.Tensor, torch.Tensor]:
        value = torch.empty(n).uniform_(*low_high)
        return value, torch.rand(n) < p

    def __call__(self, wave: torch.Tensor, no_call: torch.Tensor | None = None) -> torch.Tensor:
        """`no_call`: per clip, True for a crop known to hold none of the classes (needed by
        `mix_from="no_call"`)."""
        n = len(wave)
        if self.mix_p:
            wave = self.background(wave, no_call)
        gain_db, use_gain = self._draw(n, self.gain_db, self.gain_p)
        snr_db, use_noise = self._draw(n, self.snr_db, self.noise_p)
        gain = torch.where(use_gain, 10 ** (gain_db / 20), torch.ones(n))
        rms = wave.float().pow(2).mean(dim=1).sqrt()
        noise_rms = rms * torch.where(use_noise, 10 ** (-snr_db / 20), torch.zeros(n)).to(rms)
        noise = torch.randn_like(wave) * noise_rms[:, None].to(wave.dtype)
        return ((wave + noise) * gain[:, None].to(wave)).clamp_(-1.0, 1.0)

    def background(self, wave: torch.Tensor, no_call: torch.Tensor | None = None) -> torch.Tensor:
        """With probability `mix_p` per clip, another clip of the batch added `mix_snr_db`
        below it, the labels left as they were. With one or two recordings per species, a
        clip's background (recorder, site, other birds) identifies its recording as well as
        its species does; a background borrowed from another recording breaks that link,
        where mixup's blended labels (tried, it hurt) ask the model to hear both. Borrowed
        from a no-call crop (`mix_from="no_call"`), the background
        is a passive soundscape's, with no unlabelled call in it: a call over site noise at
        a low SNR, as a soundscape holds it."""
        n = len(wave)
        if n < 2:
            return wave
        snr_db, use = self._draw(n, self.mix_snr_db, self.mix_p)
        if self.mix_from == "no_call":
            if no_call is None:
                raise ValueError("mix_from='no_call' needs to know the no-call crops")
            pool = torch.nonzero(no_call.cpu()).flatten()
            if not len(pool):
                return wave
            other = pool[torch.randint(len(pool), (n,))]
            use &= other != torch.arange(n)
            other = other.to(wave.device)
        else:
            other = ((torch.arange(n) + torch.randint(1, n, (n,))) % n).to(wave.device)
        rms = wave.float().pow(2).mean(dim=1).sqrt()
        scale = rms / rms[other].clamp_min(1e-8) * 10 ** (-snr_db.to(rms) / 20)
        scale = torch.where(use.to(rms.device), scale, torch.zeros_like(scale))
        return (wave + wave[other] * scale[:, None].to(wave.dtype)).clamp(-1.0, 1.0)


def build_batch_augment(spec: dict | None) -> BatchAugment | None:
    return BatchAugment(**spec) if spec else None


class MelAugment(torch.nn.Module):
    """Per-clip changes of the mel power spectrogram (batch, 1, frames, mel_bins) that a new
    recording of the same species would bring, applied while training only:

    - `shift`: up to this many mel bins up or down (another individual sings a little higher
      or lower; one bin is ~3% in pitch at 128 bins above 1 kHz), edges repeated;
    - `eq_db`: a smooth random gain curve over the mel bins, at most this many dB either way,
      through `eq_points` evenly spaced anchors (another recorder's and site's frequency
      response);

    each with probability `p` per clip. Draws use torch's CPU generator (saved on resume).
    """

    def __init__(self, shift: int = 0, eq_db: float = 0.0, eq_points: int = 4,
                 p: float = 0.5) -> None:
        super().__init__()
        self.shift, self.eq_db, self.eq_points, self.p = int(shift), float(eq_db), eq_points, p

    def forward(self, power: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return power
        b, m = power.shape[0], power.shape[-1]
        if self.shift:
            k = torch.randint(-self.shift, self.shift + 1, (b,))
            k = torch.where(torch.rand(b) < self.p, k, torch.zeros_like(k))
            index = (torch.arange(m)[None] - k[:, None]).clamp(0, m - 1).to(power.device)
            power = torch.gather(power, -1, index[:, None, None].expand_as(power))
        if self.eq_db:
            anchors = torch.empty(b, 1, self.eq_points).uniform_(-self.eq_db, self.eq_db)
            anchors = anchors * (torch.rand(b, 1, 1) < self.p)
            curve = F.interpolate(anchors, size=m, mode="linear", align_corners=True)
            power = power * (10 ** (curve / 10)).to(power)[:, None]
        return power


def build_mel_augment(spec: dict | None) -> MelAugment | None:
    return MelAugment(**spec) if spec else None


def mix(x: torch.Tensor, perm: torch.Tensor, lam: torch.Tensor) -> torch.Tensor:
    """Mixup of a batch with its permutation, one weight per example."""
    lam = lam.view(-1, *([1] * (x.dim() - 1))).to(x)
    return lam * x + (1 - lam) * x[perm.to(x.device)]
