"""Audio decoding, resampling and the int16 .npy cache.

Training reads a few seconds out of recordings that last minutes, so every file is decoded
and resampled once (`prepare.py`) into an int16 .npy that `np.load(mmap_mode="r")` opens
without reading it: a crop costs a seek, not a decode (README gives the measured figures).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

from atomic import write_npy

INT16_SCALE = 32767.0


def decode(path: str | Path, sample_rate: int) -> np.ndarray:
    """Any mp3/ogg/flac/wav, any rate and channel count -> mono float32 at `sample_rate`.

    Resampling uses soxr (the high-quality resampler librosa uses). Non-finite samples
    become 0, so one broken file cannot poison a batch.
    """
    try:
        data, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError):
        import librosa  # slower audioread/ffmpeg path for formats libsndfile refuses

        mono, sr = librosa.load(str(path), sr=None, mono=True)
        data = mono[:, None]
    wave = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
    if sr != sample_rate and len(wave):
        wave = soxr.resample(wave, sr, sample_rate, quality="HQ")
    return np.nan_to_num(np.asarray(wave, dtype=np.float32), nan=0.0, posinf=0.0, neginf=0.0)


def save_cached(path: str | Path, wave: np.ndarray) -> None:
    """Store a float wave in [-1, 1] as int16 .npy (half the bytes of float32)."""
    write_npy(path, np.clip(np.round(wave * INT16_SCALE), -32768, 32767).astype(np.int16))


def open_cached(path: str | Path) -> np.ndarray:
    """Memory-map a cached wave (int16); slice it, then call `to_float`."""
    return np.load(str(path), mmap_mode="r")


def to_float(ints: np.ndarray) -> np.ndarray:
    return np.asarray(ints, dtype=np.float32) / INT16_SCALE


def load_wave(path: str | Path, sample_rate: int) -> np.ndarray:
    """A whole recording as float32: from the cache when `path` is a .npy, else decoded."""
    if str(path).endswith(".npy"):
        return to_float(open_cached(path))
    return decode(path, sample_rate)
