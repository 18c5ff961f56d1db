"""What every competition format provides to the generic prepare/train/infer scripts."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

import metrics

from .tables import weak_events


class Competition:
    """One Kaggle format. Tables, not files, cross this boundary:

    - train recordings: `id, path, group, labels, secondary` (sorted class indices: labels
      are present; secondary labels are "maybe present" in weak-label formats, else empty);
    - train events: `id, cls, t_min, t_max` in seconds (and `row`, the data row of
      `events_file` it came from, for messages); a weak label is one event spanning the whole
      file (`t_max = inf`), so one crop rule serves strong and weak labels alike;
    - test rows: `row_id, audio_id, path, t_start, t_end` (`t_end` NaN = to the end of the file),
      one per submission row, scored by the max of the framewise output inside [t_start, t_end).
    """

    metric = "lwlrap"
    required_files: tuple[str, ...] = ()
    unlabeled_dir: str | None = None  # its folder of unlabeled soundscapes, if it ships one
    weak_labels = False  # labels per recording: validation also mixes soundscapes of them
    events_file: Path | None = None  # the CSV of strong labels, where there is one

    def __init__(self, data_dir: str | Path, test_dir: str | Path | None = None,
                 threshold: float = 0.5, false_positives: bool = False) -> None:
        self.root = Path(data_dir)
        self.false_positives = false_positives  # use labelled absences where a format has them
        self.test_root = Path(test_dir) if test_dir else self.root  # test table + audio
        self.threshold = threshold  # for formats whose submission lists predicted labels
        if not self.root.is_dir():
            raise SystemExit(f"data_dir {self.root} not found: set data_dir in the experiment's "
                             "config (or -o data_dir=PATH) to the unzipped competition folder")
        missing = [f for f in self.required_files if not (self.root / f).exists()]
        if missing:
            raise SystemExit(f"{self.root}: missing {', '.join(missing)} "
                             f"(is data_dir pointing at the unzipped {type(self).__name__} data?)")

    classes: list[str]

    def train_recordings(self) -> pd.DataFrame:
        raise NotImplementedError

    def train_events(self) -> pd.DataFrame:
        raise NotImplementedError

    def train_negatives(self) -> pd.DataFrame:
        """Spans known to hold *no* call of `cls` (`id, cls, t_min, t_max`), e.g. RFCX's
        template-matching false positives: crops are also drawn around them, with that class
        a hard negative. Empty where a format has none or `false_positives` is off."""
        return pd.DataFrame(columns=["id", "cls", "t_min", "t_max"])

    def species_names(self) -> dict[str, str]:
        """Class -> "Scientific name_Common name" (either part may be empty), where the train
        table gives them: maps classes onto a pretrained bird model's labels."""
        return {}

    def test_rows(self, audio_dir: str | Path | None = None) -> pd.DataFrame:
        raise NotImplementedError

    def labelled_soundscapes(self) -> tuple[pd.DataFrame, np.ndarray] | None:
        """Soundscapes the competition labels row by row in its training data (test rows'
        columns, and their 0/1 truth), where it ships them: validation's soundscape view
        scores those instead of mixing its own (soundscapes.py). None where it has none."""
        return None

    def make_submission(self, row_ids: list[str], scores: np.ndarray) -> pd.DataFrame:
        raise NotImplementedError

    def load_solution(self, path: str | Path) -> tuple[list[str], np.ndarray]:
        """True test labels as (row_ids, multi-hot matrix), for the demo's test score."""
        raise NotImplementedError

    def score(self, y_true: np.ndarray, y_score: np.ndarray) -> float:
        return metrics.METRICS[self.metric](y_true, y_score)


class WeakLabelCompetition(Competition):
    """Formats whose train labels are per recording (Cornell, BirdCLEF): subclasses read
    `self._recordings` once; every label becomes an event spanning its whole file."""

    weak_labels = True
    _recordings: pd.DataFrame

    def train_recordings(self) -> pd.DataFrame:
        return self._recordings.copy()

    def train_events(self) -> pd.DataFrame:
        return weak_events(self._recordings)
