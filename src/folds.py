"""Which recordings each fold trains and validates on, and the guard that keeps them apart."""
from __future__ import annotations

import numpy as np
import pandas as pd

from recordings import is_unlabeled


def make_folds(recordings: pd.DataFrame, n_folds: int, seed: int,
               scheme: str = "stratified") -> np.ndarray:
    """Fold index per recording, by `scheme`:

    - `stratified`: stratified by its first label, grouped by `group` (the recording, or its
      site/author) so no group is split between training and validation. A class with
      fewer recordings than folds cannot be in every fold: a warning says how many there are,
      and when every class is that rare (1-2 recordings per species) the recordings are dealt
      over the folds as one stratum instead of stopping the run;
    - `species`: every validated species keeps a recording in training, so a fold measures how
      well a species is recognised on a new recording of it, not whether an unseen species can
      be guessed. A species' recordings are dealt over the folds from a random one; a species
      with one recording is always trained on (fold -1, never validated).
    """
    if scheme == "species":
        return species_folds(recordings, n_folds, seed)
    if scheme != "stratified":
        raise SystemExit(f"unknown fold_scheme {scheme!r}; known: stratified, species")
    import warnings

    from sklearn.model_selection import StratifiedGroupKFold

    y = np.array([labels[0] if len(labels) else -1 for labels in recordings["labels"]])
    groups = recordings["group"].to_numpy()
    if len(set(groups)) < n_folds:  # no split can give every fold a validation group
        raise SystemExit(f"cannot make {n_folds} folds of {len(recordings)} recordings in "
                         f"{len(set(groups))} group(s) (recordist or recording); lower n_folds")
    classes, counts = np.unique(y, return_counts=True)
    rare = classes[(counts < n_folds) & (classes >= 0)]  # -1: no label, not a species
    if len(rare):
        warnings.warn(f"{len(rare)} of {np.sum(classes >= 0)} classes have fewer recordings "
                      f"than the {n_folds} folds: some folds validate them untrained "
                      "on, and their CV is noisy (fold_scheme = 'species' keeps every validated "
                      "species in training)", UserWarning, stacklevel=2)
    if (counts < n_folds).all():
        # sklearn refuses when no class fills every fold: deal the recordings as one stratum,
        # so the folds still come out even in size and no group is split
        y = np.zeros(len(y), dtype=int)
    folds = np.full(len(recordings), -1, dtype=int)
    splitter = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():  # rare classes were reported above, once
        warnings.simplefilter("ignore", UserWarning)
        for fold, (_, valid) in enumerate(splitter.split(recordings, y, groups)):
            folds[valid] = fold
    return folds


def species_folds(recordings: pd.DataFrame, n_folds: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    first = np.array([labels[0] if len(labels) else -1 for labels in recordings["labels"]])
    folds = np.full(len(recordings), -1, dtype=int)
    for label in np.unique(first):
        members = rng.permutation(np.flatnonzero(first == label))
        if len(members) > 1:
            folds[members] = (rng.integers(n_folds) + np.arange(len(members))) % n_folds
    return folds


def fold_split(recordings: pd.DataFrame, fold: int | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(training, validation) recordings of `fold`; `None` (a full fit): all, none."""
    valid = recordings[recordings.fold == fold] if fold is not None else recordings[:0]
    return recordings.drop(valid.index), valid


def out_of_fold(train_df: pd.DataFrame, valid_df: pd.DataFrame, tag: str) -> list[str]:
    """The ids whose labels a fold trains on (unlabeled audio, which only the teacher labels,
    left out), after checking that none is one of the fold's validation recordings: a model
    that has seen the recordings it is scored on reports a CV the leaderboard never gives.
    Kept in the checkpoint as `trained_on`."""
    labelled = [i for i, u in zip(train_df["id"], is_unlabeled(train_df)) if not u]
    if seen := sorted(set(labelled) & set(valid_df["id"])):
        raise SystemExit(f"{tag} would train on {len(seen)} of its own validation recordings "
                         f"({', '.join(map(str, seen[:3]))}...): its CV would not be out-of-fold")
    return labelled
