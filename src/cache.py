"""Where prepare.py keeps resampled audio, folds, the list of files it could not read and the
size and time of each cached file's source."""
from __future__ import annotations

import os
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


def sources_path(cfg) -> Path:
    """prepare.py's record of the source each cached file was decoded from: split, id, size and
    modification time (ns). A source replaced under the same name is decoded again."""
    return cache_root(cfg) / "sources.csv"


def read_sources(cfg) -> dict[tuple[str, str], tuple[int, int]]:
    """(split, id) -> (size, mtime_ns) of the source its cache file was decoded from; empty for
    a cache made before the record was kept (prepare then takes each cached file as current)."""
    path = sources_path(cfg)
    if not path.exists():
        return {}
    table = pd.read_csv(path, dtype={"split": str, "id": str}, keep_default_na=False)
    return {(s, i): (int(z), int(t))
            for s, i, z, t in zip(table["split"], table["id"], table["size"], table["mtime_ns"])}


def source_key(path: str | Path) -> tuple[int, int] | None:
    """What tells a source file from one replaced under its name: (size, mtime_ns); None when
    it is gone."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns


def folds_path(cfg) -> Path:
    extra = "_fp" if cfg.false_positives else ""  # false-positive-only recordings join the folds
    scheme = "" if cfg.fold_scheme == "stratified" else f"_{cfg.fold_scheme}"
    return cache_root(cfg) / f"folds_k{cfg.n_folds}_seed{fold_seed(cfg)}{scheme}{extra}.csv"


def fold_seed(cfg) -> int:
    """The seed of the fold split: `fold_seed`, else `seed` (compare training seeds on the
    same folds by setting fold_seed)."""
    return cfg.seed if cfg.fold_seed is None else cfg.fold_seed
