"""Waveform augmentation: audiomentations transforms chosen by name in the config."""
from __future__ import annotations

from typing import Callable

import audiomentations
import numpy as np

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
