"""Rainforest Connection Species Audio Detection (Kaggle 2021).

Strong labels: `train_tp.csv` rows give species, time and frequency box of each call in the
60-s FLAC recordings of `train/`. A submission has one row per `test/` recording with a
probability per species `s0..s23`, scored by label-weighted label-ranking average precision.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from .base import Competition
from .tables import (check_scores, check_submission, fail, read_table, require_filled,
                     require_known)

ID = {"recording_id": str}  # ids such as "1e5..." must not become numbers
EVENT_COLUMNS = ["recording_id", "species_id", "t_min", "t_max"]


class Rfcx(Competition):
    metric = "lwlrap"
    required_files = ("train_tp.csv", "sample_submission.csv", "train", "test")

    def __init__(self, data_dir: str | Path, **options) -> None:
        super().__init__(data_dir, **options)
        self.sample = read_table(self.test_root / "sample_submission.csv", ["recording_id"])
        self.classes = [c for c in self.sample.columns if c != "recording_id"]
        self.tp = self._read_events("train_tp.csv")
        self.events_file = self.root / "train_tp.csv"
        use_fp = self.false_positives and (self.root / "train_fp.csv").exists()
        self.fp = self._read_events("train_fp.csv") if use_fp else self.tp[:0]

    def _read_events(self, name: str) -> pd.DataFrame:
        path = self.root / name
        df = read_table(path, EVENT_COLUMNS)
        require_filled(df, path, EVENT_COLUMNS)
        for col in ("t_min", "t_max"):
            values = pd.to_numeric(df[col], errors="coerce")
            if values.isna().any():
                fail(path, int(np.flatnonzero(values.isna())[0]), f"{col} is not a number")
            df[col] = values
        index = self._species_index()
        require_known(df, path, "species_id", list(index),
                      "the s0.. columns of sample_submission.csv")
        df["species_id"] = df["species_id"].map(index).astype(int)
        bad = ~(df["t_min"] < df["t_max"]) | (df["t_min"] < 0)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            fail(path, row, f"needs 0 <= t_min < t_max, got t_min={df.t_min.iloc[row]}, "
                            f"t_max={df.t_max.iloc[row]}")
        return df

    def _species_index(self) -> dict[str, int]:
        """species_id -> class index: species k is the column `s<k>` wherever the sample
        submission puts it, so a reordered sample submission cannot relabel the calls
        (columns not all named s<k>: by position, as before)."""
        if all(re.fullmatch(r"s\d+", c) for c in self.classes):
            return {c[1:]: k for k, c in enumerate(self.classes)}
        return {str(k): k for k in range(len(self.classes))}

    def train_recordings(self) -> pd.DataFrame:
        """Recordings of train_tp.csv, plus with `false_positives` those that only
        train_fp.csv lists (clips with no labelled call: negatives for every class)."""
        labels = self.tp.groupby("recording_id")["species_id"].agg(lambda s: sorted(set(s)))
        only_fp = sorted(set(self.fp["recording_id"]) - set(labels.index))
        labels = pd.concat([labels, pd.Series([[] for _ in only_fp], index=only_fp,
                                              dtype=object)])
        return pd.DataFrame({
            "id": labels.index,
            "path": [str(self.root / "train" / f"{rid}.flac") for rid in labels.index],
            "group": labels.index,
            "labels": labels.values,
            "secondary": [[] for _ in labels.index],
        }).reset_index(drop=True)

    def train_events(self) -> pd.DataFrame:
        return pd.DataFrame({"id": self.tp.recording_id, "cls": self.tp.species_id,
                             "t_min": self.tp.t_min, "t_max": self.tp.t_max,
                             "row": np.arange(len(self.tp))})

    def train_negatives(self) -> pd.DataFrame:
        return pd.DataFrame({"id": self.fp.recording_id, "cls": self.fp.species_id,
                             "t_min": self.fp.t_min, "t_max": self.fp.t_max})

    def test_rows(self, audio_dir: str | Path | None = None) -> pd.DataFrame:
        audio_dir = Path(audio_dir) if audio_dir else self.test_root / "test"
        ids = self.sample["recording_id"]
        return pd.DataFrame({"row_id": ids, "audio_id": ids,
                             "path": [str(audio_dir / f"{i}.flac") for i in ids],
                             "t_start": 0.0, "t_end": np.nan})

    def make_submission(self, row_ids: list[str], scores: np.ndarray) -> pd.DataFrame:
        scores = check_scores(row_ids, scores, len(self.classes))
        sub = pd.DataFrame(scores, columns=self.classes)
        sub.insert(0, "recording_id", list(row_ids))
        return check_submission(sub, list(self.sample.columns), "sample_submission.csv",
                                self.sample["recording_id"].tolist())

    def load_solution(self, path: str | Path) -> tuple[list[str], np.ndarray]:
        sol = pd.read_csv(path, dtype=ID)
        return sol["recording_id"].tolist(), sol[self.classes].to_numpy(np.float32)
