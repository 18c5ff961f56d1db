"""Cornell Birdcall Identification (Kaggle 2020).

Weak labels: each `train.csv` row is one xeno-canto mp3 in `train_audio/<ebird_code>/` with its
species (`ebird_code`) and the other species heard in it (`secondary_labels`, written as
"Scientific name_Common name", mapped back to codes through the table's own name columns).
The test table `test.csv` has 5-s rows ending at `seconds` for the site_1/site_2 soundscapes and
one clip-level row (empty `seconds`) per site_3 recording; a submission names the species heard
in each row (`birds`, or `nocall`) and is scored by row-wise F1. The two labelled example
soundscapes (`example_test_audio/`, `example_test_audio_summary.csv`) are validation's
soundscape view.
"""
from __future__ import annotations

import glob
from pathlib import Path

import numpy as np
import pandas as pd

import metrics

from .base import WeakLabelCompetition
from .tables import (birds_multi_hot, birds_submission, chunk_spans, empty_test_rows,
                     groups_from, names_by_class, parse_label_list, read_birds_solution,
                     read_table,
                     recordings_table, require_filled, require_unique, rows_over_files,
                     seconds_column, stem_id)

TRAIN_COLUMNS = ["ebird_code", "filename", "secondary_labels"]
TEST_COLUMNS = ["site", "row_id", "seconds", "audio_id"]
SUMMARY_COLUMNS = ["filename", "seconds", "birds"]  # example_test_audio_summary.csv


class Cornell2020(WeakLabelCompetition):
    metric = "f1_rowwise"
    required_files = ("train.csv", "train_audio")

    def __init__(self, data_dir: str | Path, **options) -> None:
        super().__init__(data_dir, **options)
        self.train_csv = self.root / "train.csv"
        self.train = read_table(self.train_csv, TRAIN_COLUMNS)
        require_filled(self.train, self.train_csv, ["ebird_code", "filename"])
        self.train["ebird_code"] = self.train["ebird_code"].str.strip()
        self.classes = sorted(self.train["ebird_code"].unique())
        self._recordings = self._read_recordings()

    def species_names(self) -> dict[str, str]:
        return names_by_class(self.train, "ebird_code", "sci_name", "species")

    def _names(self) -> dict[str, str]:
        """Species name (any spelling the table offers) -> ebird code, for secondary labels."""
        df, names = self.train, {}
        keys = [df["ebird_code"]]
        if "primary_label" in df.columns:  # "Empidonax traillii_Willow Flycatcher"
            keys.append(df["primary_label"])
        if {"sci_name", "species"} <= set(df.columns):
            keys.append(df["sci_name"].astype(str) + "_" + df["species"].astype(str))
        for key in keys:
            for name, code in zip(key, df["ebird_code"]):
                if isinstance(name, str) and name.strip():
                    names.setdefault(name.strip().casefold(), code)
        return names

    def _read_recordings(self) -> pd.DataFrame:
        df, path = self.train, self.train_csv
        index = {c: k for k, c in enumerate(self.classes)}
        names = self._names()
        ids = [stem_id(f.strip()) for f in df["filename"]]
        require_unique(ids, path, "recording (filename stem)")
        labels, secondary = [], []
        for i, (code, text) in enumerate(zip(df["ebird_code"], df["secondary_labels"])):
            known = {index[names[n.casefold()]] for n in parse_label_list(text, path, i)
                     if n.casefold() in names}  # species outside the classes are dropped
            labels.append([index[code]])
            secondary.append(sorted(known - {index[code]}))
        paths = [str(self.root / "train_audio" / c / f.strip())
                 for c, f in zip(df["ebird_code"], df["filename"])]
        return recordings_table(ids, paths, groups_from(df, ids), labels, secondary)

    def _test_table(self) -> pd.DataFrame | None:
        path = self.test_root / "test.csv"
        if not path.exists():
            return None
        df = read_table(path, TEST_COLUMNS)
        require_filled(df, path, ["row_id", "audio_id"])
        require_unique(df["row_id"].tolist(), path, "row_id")
        return df

    def test_rows(self, audio_dir: str | Path | None = None) -> pd.DataFrame:
        """test.csv's rows, in its order. No test.csv, or no test_audio folder (the public
        download, whose test audio Kaggle kept hidden) -> no rows, so training still runs."""
        df = self._test_table()
        if audio_dir:
            folder = Path(audio_dir)
            if not folder.is_dir():
                raise SystemExit(f"--audio-dir {folder}: not a folder")
        else:
            folder = self.test_root / "test_audio"
        if df is None or not folder.is_dir():
            return empty_test_rows()
        t_start, t_end = chunk_spans(seconds_column(df, self.test_root / "test.csv"))
        audio = {a: _audio_file(folder, a) for a in df["audio_id"].unique()}
        return pd.DataFrame({"row_id": df["row_id"].to_numpy(object),
                             "audio_id": df["audio_id"].to_numpy(object),
                             "path": [audio[a] for a in df["audio_id"]],
                             "t_start": t_start, "t_end": t_end})

    def labelled_soundscapes(self) -> tuple[pd.DataFrame, np.ndarray] | None:
        """The example soundscapes in `example_test_audio/`, labelled per 5-s chunk by
        `example_test_audio_summary.csv`: `filename` is the soundscape's short name (e.g.
        BLKFR-10-CPL, which begins its file's name BLKFR-10-CPL_20190611_093000.pt540.mp3),
        `seconds` the chunk's end and `birds` its codes or `nocall`; `filename_seconds`, where
        present, is the row id. The rows whose soundscape is there, and their 0/1 truth."""
        path, folder = self.root / "example_test_audio_summary.csv", self.root / "example_test_audio"
        if not path.exists() or not folder.is_dir():
            return None
        df = read_table(path, SUMMARY_COLUMNS)
        require_filled(df, path, ["filename", "seconds"])
        files = sorted(p for p in folder.iterdir() if p.is_file())
        found = {name: _starting(files, str(name).strip()) for name in df["filename"].unique()}
        t_start, t_end = chunk_spans(seconds_column(df, path))
        ids = (df["filename_seconds"].astype(str) if "filename_seconds" in df.columns
               else df["filename"].astype(str).str.strip() + "_"
               + pd.Series(t_end).map("{:g}".format))
        require_unique(ids.tolist(), path, "row (filename, seconds)")
        rows, keep = rows_over_files(ids.tolist(), [found[name] for name in df["filename"]],
                                     t_start, t_end)
        truth = np.asarray(birds_multi_hot(df["birds"], self.classes)) > 0
        return rows, truth[keep].astype(np.float32)

    def make_submission(self, row_ids: list[str], scores: np.ndarray) -> pd.DataFrame:
        df = self._test_table()
        if df is None:
            raise ValueError(f"{self.test_root / 'test.csv'} not found: nothing to submit")
        return birds_submission(row_ids, scores, self.classes, self.threshold,
                                df["row_id"].tolist(), str(self.test_root / "test.csv"))

    def load_solution(self, path: str | Path) -> tuple[list[str], np.ndarray]:
        """Label counts per row, repeated codes counted twice and codes outside the classes
        kept as `.outside`, so `score` gives what the competition gave for this file."""
        return read_birds_solution(path, self.classes)

    def score(self, y_true: np.ndarray, y_score: np.ndarray) -> float:
        """Row-wise F1 at `threshold`; a truth from `load_solution` brings its own counts of
        codes no class can predict (metrics.f1_rowwise)."""
        return metrics.f1_rowwise(y_true, y_score, self.threshold)


def _starting(files: list[Path], name: str) -> Path | None:
    """The file named `name` (any extension), else the first whose name begins `name_` or
    `name.` (the summary's short soundscape names)."""
    exact = [f for f in files if f.stem == name]
    loose = [f for f in files if f.name.startswith((f"{name}_", f"{name}."))]
    return (exact or loose or [None])[0]


def _audio_file(folder: Path, audio_id: str) -> str:
    """`<audio_id>.mp3` as the competition ships it, else the same name with another
    extension (a re-encoded copy, or the demo's .wav where mp3 cannot be written)."""
    mp3 = folder / f"{audio_id}.mp3"
    if mp3.exists():
        return str(mp3)
    others = sorted(p for p in folder.glob(f"{glob.escape(audio_id)}.*") if p.stem == audio_id)
    return str(others[0] if others else mp3)  # a missing file is reported when it is decoded
