"""The tables training reads: train recordings with folds and cache paths, their events, and the
audio that joins them without labels (negatives, unlabeled audio for the teacher)."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from audio import open_cached
from cache import cached_path, folds_path, read_unreadable, unreadable_path
from configs.base import (AUDIO_SUFFIXES, audio_files, background_folder, split_pattern,
                          unlabeled_folder)


def load_train_table(cfg, competition) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train recordings with their fold and cache path, and their events: the labelled calls,
    then the known absences (`negative` = True) where the competition has them. A full fit
    has no folds (prepare.py makes none): every recording is fold -1, all trained on."""
    path = folds_path(cfg)
    if not cfg.full_fit and not path.exists():
        raise SystemExit(f"{path} not found: run `python src/prepare.py {cfg.name}` first")
    recordings = competition.train_recordings()
    if recordings.empty:  # else each fold "trains" on nothing and keeps untrained weights
        raise SystemExit(f"{train_table(competition)}: no train recordings to train on; "
                         "fill it (or point data_dir at the competition's data) and run "
                         f"`python src/prepare.py {cfg.name}` again")
    if cfg.full_fit:
        recordings["fold"] = -1
    else:
        folds = pd.read_csv(path, dtype={"id": str})
        recordings = recordings.merge(folds[["id", "fold"]], on="id", how="left",
                                      validate="1:1")
        if recordings["fold"].isna().any():
            raise SystemExit(f"{path} lacks some train recordings: delete it and run prepare "
                             "again")
        recordings["fold"] = recordings["fold"].astype(int)
    recordings["cache_path"] = [str(cached_path(cfg, "train", i)) for i in recordings["id"]]
    recordings = drop_unreadable(cfg, recordings)
    events = pd.concat([competition.train_events().assign(negative=False),
                        competition.train_negatives().assign(negative=True)], ignore_index=True)
    return recordings, events


def train_table(competition) -> Path:
    """The file the competition's train recordings come from, for messages: its labels CSV
    (RFCX's train_tp.csv, Cornell's train.csv, BirdCLEF's train_metadata.csv), else its
    data folder."""
    for name in ("events_file", "train_csv", "meta_csv"):
        if getattr(competition, name, None) is not None:
            return Path(getattr(competition, name))
    return competition.root


def folder_files(folder: str | None, field: str) -> pd.DataFrame:
    """The audio files (id, path) under `folder` or matching it (config field `field`, a
    folder or a glob pattern: configs.base.audio_files)."""
    if folder is None:
        return pd.DataFrame({"id": [], "path": []})
    pattern = split_pattern(folder)[1] is not None
    if not pattern and not Path(folder).is_dir():
        raise SystemExit(f"{field} {folder}: not a folder")
    files = audio_files(folder)
    if pattern and not files:  # a folder may be empty; a pattern that matches nothing is a typo
        raise SystemExit(f"{field} {folder}: matches no audio file ({', '.join(AUDIO_SUFFIXES)})")
    return pd.DataFrame({"id": list(files), "path": [str(p) for p in files.values()]})


def unlabeled_files(cfg) -> pd.DataFrame:
    """The audio files (id, path) of `distill_audio` when it names a folder ("soundscapes":
    the competition's unlabeled ones)."""
    return folder_files(unlabeled_folder(cfg),
                        "distill_audio (a folder, 'soundscapes' or 'valid')")


def background_files(cfg) -> pd.DataFrame:
    """The audio files (id, path) of the validation soundscapes' background, where named."""
    return folder_files(background_folder(cfg), "valid_soundscapes background")


def negative_recordings(cfg) -> pd.DataFrame:
    """The recordings of `negative_audio`, cached by prepare.py as split `negative`: audio
    that holds none of the competition's classes (no-call clips, other regions'
    soundscapes). Their crops train with every class absent, so the model meets birds,
    insects and sites that are not its classes, where the training recordings alone show it
    one recording per class. Each file is listed `negative_repeat` times (a 10-min soundscape
    holds far more distinct crops than a training recording). Columns as load_train_table's
    (those it could not read left out)."""
    files = folder_files(cfg.negative_audio, "negative_audio")
    paths = [str(cached_path(cfg, "negative", i)) for i in files["id"]]
    out = pd.DataFrame({"id": files["id"], "cache_path": paths})
    out = out[[Path(p).exists() for p in paths]]
    out = out.loc[out.index.repeat(cfg.negative_repeat)].reset_index(drop=True)
    empty = [[] for _ in range(len(out))]
    return out.assign(labels=empty, secondary=empty, fold=-1)


def unlabeled_recordings(cfg, valid_df: pd.DataFrame) -> pd.DataFrame:
    """Recordings whose crops train only through the teacher's soft labels (`distill_audio`):
    a folder's files, cached by prepare.py as split `unlabeled` (e.g. a competition's
    unlabeled soundscapes), or with "valid" the fold's own validation recordings: what such
    audio from the test's distribution is worth, measured in CV (the teacher, not the
    labels, hears the validation audio). Columns as load_train_table's, plus `split`."""
    if cfg.distill_audio == "valid":
        out = valid_df.assign(split="train")
    else:
        files = unlabeled_files(cfg)
        out = pd.DataFrame({"id": files["id"], "split": "unlabeled", "cache_path": [
            str(cached_path(cfg, "unlabeled", i)) for i in files["id"]]})
        out = out[[Path(p).exists() for p in out["cache_path"]]]  # unreadable ones are left out
    empty = [[] for _ in range(len(out))]
    return out.assign(labels=empty, secondary=empty, unlabeled=True)


def is_unlabeled(recordings: pd.DataFrame) -> list[bool]:
    """Which recordings came from unlabeled_recordings (False where the column is missing)."""
    if "unlabeled" not in recordings:
        return [False] * len(recordings)
    return recordings["unlabeled"].fillna(False).astype(bool).tolist()


def drop_unreadable(cfg, recordings: pd.DataFrame) -> pd.DataFrame:
    """The recordings with a usable cache file. Those prepare.py could not read (or whose cache
    file is missing or damaged) are left out with a warning naming each, rather than crashing
    training at their first crop."""
    reasons = read_unreadable(cfg)
    bad: dict[str, str] = {}
    for rid, path in zip(recordings["id"], recordings["cache_path"]):
        try:
            if len(open_cached(path)) == 0:
                bad[rid] = "no audio samples"
        except (OSError, ValueError) as e:
            bad[rid] = reasons.get(("train", rid), f"no usable cache file {path} ({e})")
    if not bad:
        return recordings
    if len(bad) == len(recordings):
        raise SystemExit(f"none of the {len(recordings)} train recordings could be read "
                         f"(see {unreadable_path(cfg)}); run prepare.py")
    print(f"warning: training leaves out {len(bad)} unreadable recording(s):", file=sys.stderr)
    for rid, reason in bad.items():
        print(f"  {rid}: {reason}", file=sys.stderr)
    return recordings[~recordings["id"].isin(set(bad))].reset_index(drop=True)


def multi_hot(labels: list[list[int]], n_classes: int) -> np.ndarray:
    y = np.zeros((len(labels), n_classes), dtype=np.float32)
    for i, row in enumerate(labels):
        y[i, list(row)] = 1.0
    return y


def training_set(cfg, train_df: pd.DataFrame, valid_df: pd.DataFrame) -> pd.DataFrame:
    """A fold's training recordings (split `train`), then what joins them without labels: the
    unlabeled audio that only the teacher labels (`distill_audio`, see teacher.crop_labels)
    and the negatives that train with every class absent (`negative_audio`)."""
    parts = [train_df.assign(split="train")]
    if cfg.distill_audio:
        parts.append(unlabeled_recordings(cfg, valid_df))
    if cfg.negative_audio:
        parts.append(negative_recordings(cfg).assign(split="negative"))
    return pd.concat(parts, ignore_index=True)
