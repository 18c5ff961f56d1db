"""Training crops and inference windows, read from the resampled int16 cache.

One `SedDataset` serves strong and weak labels: a weak label is an event spanning the whole
recording, so "crop around a random event" becomes "crop anywhere" without a second code path.
"""
from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset

from audio import load_wave, open_cached, to_float


def cache_root(cfg) -> Path:
    """Where prepare.py puts resampled audio and folds: per data set and sample rate, so
    experiments sharing both share the cache."""
    if cfg.cache_dir:
        return Path(cfg.cache_dir)
    return Path("input") / "cache" / f"{Path(cfg.data_dir).name}-{cfg.sample_rate}"


def cached_path(cfg, split: str, audio_id: str) -> Path:
    return cache_root(cfg) / split / f"{audio_id}.npy"


def folds_path(cfg) -> Path:
    return cache_root(cfg) / f"folds_k{cfg.n_folds}_seed{cfg.seed}.csv"


def make_folds(recordings: pd.DataFrame, n_folds: int, seed: int) -> np.ndarray:
    """Fold index per recording: stratified by its first label, grouped by `group` (the
    recording, or its site/author) so no group is split between training and validation."""
    import warnings

    from sklearn.model_selection import StratifiedGroupKFold

    y = [labels[0] if len(labels) else -1 for labels in recordings["labels"]]
    folds = np.full(len(recordings), -1, dtype=int)
    splitter = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():  # classes rarer than n_folds are expected, not an error
        warnings.simplefilter("ignore", UserWarning)
        for fold, (_, valid) in enumerate(splitter.split(recordings, y, recordings["group"])):
            folds[valid] = fold
    return folds


def load_train_table(cfg, competition) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train recordings with their fold and cache path, and their events."""
    path = folds_path(cfg)
    if not path.exists():
        raise SystemExit(f"{path} not found: run `python src/prepare.py {cfg.name}` first")
    recordings = competition.train_recordings()
    folds = pd.read_csv(path, dtype={"id": str})
    recordings = recordings.merge(folds[["id", "fold"]], on="id", how="left", validate="1:1")
    if recordings["fold"].isna().any():
        raise SystemExit(f"{path} lacks some train recordings: delete it and run prepare again")
    recordings["fold"] = recordings["fold"].astype(int)
    recordings["cache_path"] = [str(cached_path(cfg, "train", i)) for i in recordings["id"]]
    return recordings, competition.train_events()


def multi_hot(labels: list[list[int]], n_classes: int) -> np.ndarray:
    y = np.zeros((len(labels), n_classes), dtype=np.float32)
    for i, row in enumerate(labels):
        y[i, list(row)] = 1.0
    return y


def choose_crop(n_samples: int, crop: int, start: int, end: int,
                rng: np.random.Generator) -> int:
    """A crop start that holds the whole event [start, end) when it fits in `crop`, or lies
    inside it when it does not; kept within the recording."""
    if end - start <= crop:
        lo, hi = end - crop, start
    else:
        lo, hi = start, end - crop
    last = max(0, n_samples - crop)
    lo, hi = min(max(lo, 0), last), min(max(hi, 0), last)
    return int(rng.integers(lo, max(lo, hi) + 1))


class SedDataset(Dataset):
    """`crops_per_file` random crops of `duration` s per recording per epoch, each centred on a
    randomly chosen event of that recording; the target holds every class with an event
    overlapping the crop by more than `min_overlap` s.

    Randomness comes from (seed, epoch, index), not from the worker process, so a run gives
    the same batches whatever `num_workers` is.
    """

    def __init__(self, recordings: pd.DataFrame, events: pd.DataFrame, n_classes: int,
                 sample_rate: int, duration: float, crops_per_file: int = 1,
                 min_overlap: float = 0.0, augment=None, seed: int = 0) -> None:
        self.paths = recordings["cache_path"].tolist()
        by_id = {rid: g[["cls", "t_min", "t_max"]].to_numpy(np.float64)
                 for rid, g in events.groupby("id")}
        self.events = [by_id.get(rid, np.zeros((0, 3))) for rid in recordings["id"]]
        self.n_classes = n_classes
        self.sr = sample_rate
        self.crop = int(round(duration * sample_rate))
        self.crops_per_file = crops_per_file
        self.min_overlap = min_overlap
        self.augment = augment
        self.seed = seed
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.paths) * self.crops_per_file

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        rec = index % len(self.paths)
        rng = np.random.default_rng([self.seed, self.epoch, index])
        ints = open_cached(self.paths[rec])
        events = self.events[rec]
        if len(events):
            cls, t0, t1 = events[rng.integers(len(events))]
            start = choose_crop(len(ints), self.crop, int(t0 * self.sr),
                                int(min(t1, len(ints) / self.sr) * self.sr), rng)
        else:
            start = choose_crop(len(ints), self.crop, 0, len(ints), rng)
        wave = np.zeros(self.crop, dtype=np.float32)
        piece = to_float(ints[start:start + self.crop])
        wave[:len(piece)] = piece
        t_start, t_end = start / self.sr, (start + self.crop) / self.sr
        target = np.zeros(self.n_classes, dtype=np.float32)
        if len(events):
            overlap = np.minimum(events[:, 2], t_end) - np.maximum(events[:, 1], t_start)
            target[events[overlap > self.min_overlap, 0].astype(int)] = 1.0
        if self.augment is not None:
            # audiomentations draws from the global generators: seed them per item
            item_seed = int(rng.integers(2**31))
            random.seed(item_seed)
            np.random.seed(item_seed)
            wave = self.augment(wave, self.sr)
        return torch.from_numpy(wave), torch.from_numpy(target)


class RecordingWindows(Dataset):
    """All windows of one recording per item, as a (windows, samples) tensor: the last window
    is zero-padded, and a recording shorter than one window gives one padded window."""

    def __init__(self, paths: list[str], sample_rate: int, duration: float,
                 hop: float | None = None) -> None:
        self.paths = list(paths)
        self.sr = sample_rate
        self.window = int(round(duration * sample_rate))
        self.hop = int(round((hop or duration) * sample_rate))

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int, int]:
        wave = load_wave(self.paths[index], self.sr)
        n_windows = 1 + max(0, -(-(len(wave) - self.window) // self.hop))
        padded = np.zeros((n_windows - 1) * self.hop + self.window, dtype=np.float32)
        padded[:len(wave)] = wave
        windows = np.lib.stride_tricks.sliding_window_view(padded, self.window)[::self.hop]
        return torch.from_numpy(windows.copy()), len(wave), index
