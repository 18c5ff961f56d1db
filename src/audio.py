"""Audio decoding, resampling and the int16 .npy cache.

Training reads a few seconds out of recordings that last minutes, so every file is decoded
and resampled once (`prepare.py`) into an int16 .npy that `np.load(mmap_mode="r")` opens
without reading it: a crop costs a seek, not a decode (README gives the measured figures).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

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


def stream_wave(path: str | Path, sample_rate: int, chunk: int = 1 << 18) -> Iterator[np.ndarray]:
    """A recording as consecutive mono float32 pieces at `sample_rate` (about `chunk` samples of
    the source each), so that an hour-long file never sits whole in memory.

    A cached .npy is read with plain file reads (a memory map would keep every page it touched
    resident); a file libsndfile reads is decoded block by block through soxr's streaming
    resampler, the same filter `decode` uses; anything else is decoded whole by `decode`.
    """
    if str(path).endswith(".npy"):
        ints = open_cached(path)
        with open(path, "rb") as f:
            f.seek(ints.offset)
            for _ in range(0, len(ints), chunk):
                yield to_float(np.fromfile(f, dtype=ints.dtype, count=chunk))
        return
    try:
        source = sf.SoundFile(str(path))
    except (sf.LibsndfileError, RuntimeError):
        wave = decode(path, sample_rate)
        for start in range(0, len(wave), chunk):
            yield wave[start:start + chunk]
        return
    with source:
        resampler = (soxr.ResampleStream(source.samplerate, sample_rate, 1, dtype="float32",
                                         quality="HQ") if source.samplerate != sample_rate else None)
        while True:
            data = source.read(chunk, dtype="float32", always_2d=True)
            last = len(data) < chunk
            piece = data.mean(axis=1) if data.shape[1] > 1 else data[:, 0]
            if resampler is not None:
                piece = resampler.resample_chunk(np.ascontiguousarray(piece), last=last)
            yield np.nan_to_num(piece, nan=0.0, posinf=0.0, neginf=0.0)
            if last:
                return


def load_wave(path: str | Path, sample_rate: int) -> np.ndarray:
    """A whole recording as float32: from the cache when `path` is a .npy, else decoded."""
    if str(path).endswith(".npy"):
        return to_float(open_cached(path))
    return decode(path, sample_rate)
