"""Competition formats by name: each knows its files, labels, test rows, submission and metric."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .base import Competition
from .birdclef import (BirdClef2021, BirdClef2022, BirdClef2023, BirdClef2024,
                       BirdClef2025)
from .cornell2020 import Cornell2020
from .rfcx import Rfcx

COMPETITIONS: dict[str, type[Competition]] = {
    "rfcx": Rfcx,
    "cornell2020": Cornell2020,
    "birdclef": BirdClef2023,  # the 2023 format's first name, kept as an alias
    "birdclef2021": BirdClef2021,
    "birdclef2022": BirdClef2022,
    "birdclef2023": BirdClef2023,
    "birdclef2024": BirdClef2024,
    "birdclef2025": BirdClef2025,
}


def get_competition(name: str, data_dir: str, **options) -> Competition:
    """`options` go to the format's constructor: `test_dir`, `threshold`, `false_positives`."""
    try:
        cls = COMPETITIONS[name]
    except KeyError:
        raise SystemExit(f"unknown competition {name!r}; known: {sorted(COMPETITIONS)}") from None
    return cls(data_dir, **options)


def competition_for(cfg) -> Competition:
    """The competition an experiment config describes."""
    return get_competition(cfg.competition, cfg.data_dir, test_dir=cfg.test_dir,
                           threshold=cfg.threshold, false_positives=cfg.false_positives)


def checked_submission(comp: Competition, row_ids: list[str], scores: np.ndarray,
                       out: str | Path, classes: list[str] | None = None) -> pd.DataFrame:
    """The competition's submission, validated against its sample submission or test table;
    a mismatch stops the run with the reason, and nothing is written to `out`.

    `classes` names the columns of `scores` (default: the competition's order). They are
    matched to the competition's classes by name, so scores kept in a training-time order
    still land under their own headers; a class the competition lists and `scores` lack (a
    species added to the sample submission after training) stops the run naming it."""
    if classes is not None and list(classes) != list(comp.classes):
        scores = by_name(np.asarray(scores), list(classes), list(comp.classes), out)
    try:
        return comp.make_submission(row_ids, scores)
    except ValueError as e:
        raise SystemExit(f"{out} not written: {e}") from None


def by_name(scores: np.ndarray, have: list[str], want: list[str], out: str | Path) -> np.ndarray:
    """The columns of `scores` (classes `have`) in the order `want`, or a stop naming the
    classes one side lacks."""
    new = [c for c in want if c not in have]
    gone = [c for c in have if c not in want]
    if new or gone:
        raise SystemExit(
            f"{out} not written: the competition's classes differ from the predicted ones: "
            + "; ".join(f"{what} {names[:8]}{' ...' if len(names) > 8 else ''}" for what, names
                        in (("new, never trained:", new), ("predicted, no longer listed:", gone))
                        if names)
            + ": train again on the competition's classes (or restore its sample submission)")
    return scores[:, [have.index(c) for c in want]]


def submission_score(comp, submission: Path, solution: Path) -> float:
    """Score a written submission file against the true labels, rows matched by id."""
    row_ids, truth = comp.load_solution(solution)
    sub = pd.read_csv(submission, dtype=str)  # ids such as "1e5" must stay strings
    if {"birds", "target"} & set(sub.columns):  # formats of decisions: the decisions as 0/1
        sub_ids, scores = comp.load_solution(submission)
        sub = pd.DataFrame(scores, index=sub_ids, columns=comp.classes)
    else:
        sub = sub.set_index(sub.columns[0])[comp.classes].astype(np.float64)
    missing = set(row_ids) - set(sub.index)
    if missing:
        raise SystemExit(f"{submission} lacks {len(missing)} row(s) of {solution}")
    return comp.score(truth, sub.loc[row_ids].to_numpy(np.float64))
