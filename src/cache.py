"""Where prepare.py keeps resampled audio, folds and the list of files it could not read."""
from __future__ import annotations

from pathlib import Path

import pandas as pd


def cache_root(cfg) -> Path:
    """Where prepare.py puts resampled audio and folds: per data set and sample rate, so
    experiments sharing both share the cache."""
    if cfg.cache_dir:
        return Path(cfg.cache_dir)
    return Path("input") / "cache" / f"{Path(cfg.data_dir).name}-{cfg.sample_rate}"


def cached_path(cfg, split: str, audio_id: str) -> Path:
    return cache_root(cfg) / split / f"{audio_id}.npy"


def unreadable_path(cfg) -> Path:
    """prepare.py's list of the recordings it could not read: split, id, path, reason."""
    return cache_root(cfg) / "unreadable.csv"


def read_unreadable(cfg) -> dict[tuple[str, str], str]:
    """(split, id) -> why prepare.py could not read it (empty when it read everything)."""
    path = unreadable_path(cfg)
    if not path.exists():
        return {}
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    return {(s, i): r for s, i, r in zip(table["split"], table["id"], table["reason"])}


def folds_path(cfg) -> Path:
    extra = "_fp" if cfg.false_positives else ""  # false-positive-only recordings join the folds
    scheme = "" if cfg.fold_scheme == "stratified" else f"_{cfg.fold_scheme}"
    return cache_root(cfg) / f"folds_k{cfg.n_folds}_seed{fold_seed(cfg)}{scheme}{extra}.csv"


def fold_seed(cfg) -> int:
    """The seed of the fold split: `fold_seed`, else `seed` (compare training seeds on the
    same folds by setting fold_seed)."""
    return cfg.seed if cfg.fold_seed is None else cfg.fold_seed
