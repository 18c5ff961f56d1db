"""Waveform augmentation: audiomentations transforms chosen by name in the config (per clip, in
the loader workers) and cheap gain + noise on whole batches (in the training step)."""
from __future__ import annotations

from typing import Callable

import audiomentations
import numpy as np
import torch

WaveTransform = Callable[[np.ndarray, int], np.ndarray]


def build_wave_augment(spec: dict[str, dict] | None) -> WaveTransform | None:
    """`{"AddGaussianSNR": {"p": 0.5, ...}, ...}` -> one callable applying them in order.

    Real recordings hold stretches of exact digital silence; SNR- and gain-based transforms can
    turn those into NaN or inf, so the output is made finite and kept within [-1, 1]
    (a clip the transforms broke is returned unchanged rather than passed on).
    """
    if not spec:
        return None
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
    """Gain and Gaussian noise at a random SNR, drawn per clip and applied to the whole batch
    on its device inside the training step.

    The same transforms run in the loader workers through audiomentations cost ~2 ms per 5-s
    clip (float64 noise), taken from the cores the model trains on; here they are one tensor
    op per batch. Parameters come from torch's CPU generator (saved on resume), the noise from
    the batch's device. Digital silence stays silence: the noise scales with the clip's RMS.
    """

    def __init__(self, gain_db: tuple[float, float] = (-6.0, 6.0), gain_p: float = 0.5,
                 snr_db: tuple[float, float] = (10.0, 40.0), noise_p: float = 0.5) -> None:
        self.gain_db, self.gain_p = gain_db, gain_p
        self.snr_db, self.noise_p = snr_db, noise_p

    @staticmethod
    def _draw(n: int, low_high: tuple[float, float], p: float) -> tuple[torch.Tensor, torch.Tensor]:
        value = torch.empty(n).uniform_(*low_high)
        return value, torch.rand(n) < p

    def __call__(self, wave: torch.Tensor) -> torch.Tensor:
        n = len(wave)
        gain_db, use_gain = self._draw(n, self.gain_db, self.gain_p)
        snr_db, use_noise = self._draw(n, self.snr_db, self.noise_p)
        gain = torch.where(use_gain, 10 ** (gain_db / 20), torch.ones(n))
        rms = wave.float().pow(2).mean(dim=1).sqrt()
        noise_rms = rms * torch.where(use_noise, 10 ** (-snr_db / 20), torch.zeros(n)).to(rms)
        noise = torch.randn_like(wave) * noise_rms[:, None].to(wave.dtype)
        return ((wave + noise) * gain[:, None].to(wave)).clamp_(-1.0, 1.0)


def build_batch_augment(spec: dict | None) -> BatchAugment | None:
    return BatchAugment(**spec) if spec else None
