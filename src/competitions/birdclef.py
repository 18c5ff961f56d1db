"""BirdCLEF (Kaggle, 2021-2025).

Weak labels: each `train_metadata.csv` row is one xeno-canto/iNaturalist recording,
`train_audio/<filename>` (filename like "acafla/xc35068.ogg"), with its `primary_label` and the
other species heard (`secondary_labels`, a Python-list string of class codes). The hidden test
set is `test_soundscapes/*.ogg`, scored in 5-s rows `<stem>_<end>`.

- `birdclef2023` (alias `birdclef`): a submission gives a probability per class (the columns
  of `sample_submission.csv`), scored by padded cmAP;
- `birdclef2022`: `test.csv` lists a row per soundscape, scored species and 5-s window
  (`<file_id>_<bird>_<end_time>`); a submission says True/False per row, scored by a weighted
  accuracy over the species of `scored_birds.json`;
- `birdclef2024`, `birdclef2025`: the same rows and submission, scored as Kaggle scores them,
  by a macro ROC-AUC over the classes with a positive (`metrics.macro_auc`); 2025 reads
  `train.csv` and `taxonomy.csv` instead of `train_metadata.csv`;
- `birdclef2021`: `test.csv` lists the rows (`<audio_id>_<site>_<seconds>`), audio files are
  `<audio_id>_<site>_<date>.ogg`; a submission names the species heard per row (`birds`, or
  `nocall`), scored by row-wise F1. Its `train_soundscapes/`, labelled per row, are what
  validation's soundscape view scores.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

import metrics

from .base import WeakLabelCompetition
from .tables import (birds_multi_hot, birds_submission, check_scores, check_submission,
                     chunk_ends, chunk_spans, empty_test_rows, fail, groups_from, names_by_class,
                     parse_label_list, read_birds_solution, read_table, recordings_table,
                     require_filled, require_known, require_unique, rows_over_files,
                     seconds_column, stem_id)

TRAIN_COLUMNS = ["primary_label", "secondary_labels", "filename"]
AUDIO_FOLDERS = ("train_audio", "train_short_audio")  # 2022+, 2021


class BirdClef(WeakLabelCompetition):
    metric = "padded_cmap"
    meta_file = "train_metadata.csv"  # the table of training recordings
    required_files = (meta_file,)
    sample_has_classes = True  # sample_submission.csv has a column per class

    def __init__(self, data_dir: str | Path, **options) -> None:
        super().__init__(data_dir, **options)
        self.meta_csv = self.root / self.meta_file
        self.meta = read_table(self.meta_csv, TRAIN_COLUMNS)
        require_filled(self.meta, self.meta_csv, ["primary_label", "filename"])
        for col in ("primary_label", "filename"):
            self.meta[col] = self.meta[col].str.strip()
        self.classes = self._read_classes()
        self._recordings = self._read_recordings()

    def _read_classes(self) -> list[str]:
        """The submission's columns when sample_submission.csv says them (a species with no
        training file still gets its column), else the primary labels."""
        sample = self.root / "sample_submission.csv"
        if not sample.exists() or not self.sample_has_classes:
            return self._classes_without_sample()
        columns = [str(c).strip() for c in pd.read_csv(sample, nrows=0).columns]
        if "row_id" not in columns:
            fail(sample, -1, f"no row_id column; has {columns[:5]}...")
        classes = [c for c in columns if c != "row_id"]
        require_known(self.meta, self.meta_csv, "primary_label", classes,
                      f"the columns of {sample}")
        return classes

    def _classes_without_sample(self) -> list[str]:
        return sorted(self.meta["primary_label"].unique())

    def species_names(self) -> dict[str, str]:
        return names_by_class(self.meta, "primary_label", "scientific_name", "common_name")

    def _audio_folder(self) -> Path:
        for name in AUDIO_FOLDERS:
            if (self.root / name).is_dir():
                return self.root / name
        raise SystemExit(f"{self.root}: missing {' or '.join(AUDIO_FOLDERS)} (is data_dir "
                         f"pointing at the unzipped {type(self).__name__} data?)")

    def _read_recordings(self) -> pd.DataFrame:
        df, path = self.meta, self.meta_csv
        index = {c: k for k, c in enumerate(self.classes)}
        folder = self._audio_folder()
        ids = [stem_id(f) for f in df["filename"]]
        require_unique(ids, path, "recording (filename without extension)")
        labels, secondary = [], []
        for i, (code, text) in enumerate(zip(df["primary_label"], df["secondary_labels"])):
            known = {index[c] for c in parse_label_list(text, path, i) if c in index}
            labels.append([index[code]])
            secondary.append(sorted(known - {index[code]}))
        # 2022+ filenames carry the species folder; 2021's are bare, under <primary_label>/
        paths = [str(folder / f) if "/" in f else str(folder / c / f)
                 for c, f in zip(df["primary_label"], df["filename"])]
        return recordings_table(ids, paths, groups_from(df, ids), labels, secondary)

    def _soundscape_folder(self, audio_dir: str | Path | None) -> Path | None:
        if audio_dir:
            if not Path(audio_dir).is_dir():
                raise SystemExit(f"--audio-dir {audio_dir}: not a folder")
            return Path(audio_dir)
        folder = self.test_root / "test_soundscapes"
        return folder if folder.is_dir() else None

    def test_rows(self, audio_dir: str | Path | None = None) -> pd.DataFrame:
        """5-s rows `<stem>_<end>` over every soundscape present, sorted by file then time.
        Rows come from the files, never from sample_submission.csv: its rows name hidden
        soundscapes that the public download lacks."""
        folder = self._soundscape_folder(audio_dir)
        files = sorted(folder.glob("*.ogg"), key=lambda p: p.stem) if folder else []
        if not files:
            return empty_test_rows()
        ends = {f: _row_ends(f) for f in files}
        known = [len(e) for e in ends.values() if e is not None]
        for f in [f for f, e in ends.items() if e is None]:
            # no decoder can tell its length: as long as most soundscapes (they share one)
            n = max(set(known), key=known.count) if known else 1
            print(f"warning: cannot read {f}: its length is unknown; it gets {n} rows of 5 s, "
                  "as most soundscapes", file=sys.stderr)
            ends[f] = chunk_ends(n * 5, 1)
        rows = [(f"{f.stem}_{end}", f.stem, str(f), end - 5.0, float(end))
                for f in files for end in ends[f]]
        return pd.DataFrame(rows, columns=["row_id", "audio_id", "path", "t_start", "t_end"])

    def make_submission(self, row_ids: list[str], scores: np.ndarray) -> pd.DataFrame:
        scores = check_scores(row_ids, scores, len(self.classes))
        sub = pd.DataFrame(scores, columns=self.classes)
        sub.insert(0, "row_id", list(row_ids))
        # rows come from the soundscapes present (the sample's rows name hidden ones)
        return check_submission(sub, ["row_id", *self.classes], "sample_submission.csv")

    def load_solution(self, path: str | Path) -> tuple[list[str], np.ndarray]:
        """`row_id` + a 0/1 column per class; a class without a column is absent throughout."""
        sol = read_table(path, ["row_id"])
        y = np.zeros((len(sol), len(self.classes)), dtype=np.float32)
        for k, c in enumerate(self.classes):
            if c in sol.columns:
                y[:, k] = pd.to_numeric(sol[c], errors="coerce").fillna(0).to_numpy() > 0
        return sol["row_id"].tolist(), y


class BirdClef2024(BirdClef):
    """BirdCLEF 2024 (Western Ghats, 182 eBird codes): `train_metadata.csv`,
    `eBird_Taxonomy_v2021.csv`, `train_audio/`, `test_soundscapes/`, `unlabeled_soundscapes/`
    and `sample_submission.csv` (layout as unzipped, e.g. github.com/tky823/Audyn
    recipes/BirdCLEF2024/Baseline/README.md). Rows and submission as `birdclef`.

    Kaggle scores it with the "birdclef-roc-auc" metric (kaggle.com/code/metric/birdclef-roc-auc;
    the 2024 overview, CEUR-WS Vol-3740 paper 184, reports ROC-AUC): scikit-learn's macro
    `roc_auc_score` over the solution's columns that hold a positive. The unlabeled soundscapes
    (`unlabeled_dir`) train a student through `distill_audio = "soundscapes"` with
    `pseudo_labels` (pseudo.py: self-training) or the BirdNET teacher."""

    metric = "macro_auc"
    unlabeled_dir = "unlabeled_soundscapes"


class BirdClef2025(BirdClef2024):
    """BirdCLEF+ 2025 (Middle Magdalena, 206 classes: birds by eBird code; amphibians, mammals
    and insects by iNaturalist taxon id, e.g. "1139490"): `train.csv` (primary_label,
    secondary_labels, type, filename, collection XC/iNat/CSA, rating, url, latitude, longitude,
    scientific_name, common_name, author, license), `taxonomy.csv` (primary_label,
    inat_taxon_id, scientific_name, common_name, class_name), `train_audio/<label>/*.ogg`,
    `train_soundscapes/` (unlabeled: `unlabeled_dir`), `test_soundscapes/` and
    `sample_submission.csv` (row_id `<soundscape>_<end second>`, a probability per class).
    Sources: the Kaggle page
    kaggle.com/competitions/birdclef-2025, its train.csv as mirrored on Hugging Face
    (christopher/birdclef-2025) and the metric above, which 2025 kept (its public solutions
    say "macro-averaged ROC-AUC", e.g. github.com/cocoa-huang/M148_Birdclef_Code)."""

    meta_file = "train.csv"
    required_files = (meta_file, "taxonomy.csv")
    unlabeled_dir = "train_soundscapes"

    def __init__(self, data_dir: str | Path, **options) -> None:
        self.taxonomy = None  # read on demand: the classes may come from it
        super().__init__(data_dir, **options)

    def _taxonomy(self) -> pd.DataFrame:
        if self.taxonomy is None:
            path = self.root / "taxonomy.csv"
            self.taxonomy = read_table(path, ["primary_label", "scientific_name", "common_name"])
            require_filled(self.taxonomy, path, ["primary_label"])
            self.taxonomy["primary_label"] = self.taxonomy["primary_label"].str.strip()
        return self.taxonomy

    def _classes_without_sample(self) -> list[str]:
        """taxonomy.csv lists every class, those without a training file too."""
        classes = sorted(self._taxonomy()["primary_label"].unique())
        require_known(self.meta, self.meta_csv, "primary_label", classes,
                      f"the classes of {self.root / 'taxonomy.csv'}")
        return classes

    def species_names(self) -> dict[str, str]:
        """From taxonomy.csv, which names the classes without training audio as well."""
        return names_by_class(self._taxonomy(), "primary_label", "scientific_name",
                              "common_name")


class BirdClef2023(BirdClef):
    """BirdCLEF 2023 (Kenya, 264 eBird codes): `train_metadata.csv`, `eBird_Taxonomy_v2021.csv`,
    `train_audio/`, `test_soundscapes/` and `sample_submission.csv` with a probability per
    class, scored by padded cmAP (Kaggle's BirdCLEF 2023 metric: 5 rows of ones padded to truth
    and scores, then scikit-learn's macro average precision). The `birdclef` name stays an
    alias of it."""


class BirdClef2022(BirdClef):
    """BirdCLEF 2022 (Hawai'i, 152 eBird codes, 21 of them scored): `train_metadata.csv`,
    `train_audio/<code>/XC<n>.ogg`, `scored_birds.json` (the scored codes), `test.csv`
    (`row_id, file_id, bird, end_time`: a row per 1-min soundscape, scored bird and 5-s window,
    row_id `<file_id>_<bird>_<end_time>`), `test_soundscapes/<file_id>.ogg` and
    `sample_submission.csv` (`row_id,target`, target True or False).

    The model scores 5-s windows `<file_id>_<end_time>` for every class, as the other years;
    the submission reads each test.csv row's bird from its window's scores (True at `threshold`
    or above). Kaggle's evaluation page describes the metric as a weighted classification
    accuracy over the scored rows, every species weighing the same and its true positives and
    true negatives weighing the same (`metrics.weighted_accuracy`); the CV scores recordings
    on the scored species' columns the same way."""

    metric = "weighted_accuracy"
    required_files = ("train_metadata.csv", "scored_birds.json")
    sample_has_classes = False  # row_id,target

    def _read_classes(self) -> list[str]:
        """The primary labels (2022's sample submission has no class columns), which must
        include every scored bird."""
        path = self.root / "scored_birds.json"
        try:
            scored = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            raise SystemExit(f"{path}: not a readable JSON list of codes ({e})") from None
        if not isinstance(scored, list) or not all(isinstance(c, str) for c in scored):
            raise SystemExit(f"{path}: expected a JSON list of class codes, got {scored!r:.80}")
        classes = super()._read_classes()
        unknown = [c for c in scored if c not in classes]
        if unknown:
            raise SystemExit(f"{path}: scored bird(s) {unknown[:5]} have no training recording "
                             f"in {self.meta_csv}")
        self.scored = [classes.index(c) for c in scored]
        return classes

    def _test_table(self) -> pd.DataFrame | None:
        path = self.test_root / "test.csv"
        if not path.exists():
            return None
        df = read_table(path, ["row_id", "file_id", "bird", "end_time"])
        require_filled(df, path, ["row_id", "file_id", "bird", "end_time"])
        require_unique(df["row_id"].tolist(), path, "row_id")
        require_known(df, path, "bird", self.classes, f"the primary labels of {self.meta_csv}")
        ends = seconds_column(df.rename(columns={"end_time": "seconds"}), path)
        df["window"] = [f"{f}_{int(e)}" for f, e in zip(df["file_id"], ends)]
        df["end"] = ends
        return df

    def test_rows(self, audio_dir: str | Path | None = None) -> pd.DataFrame:
        """One row per 5-s window that test.csv scores, `<file_id>_<end_time>`, in test.csv's
        order, for the soundscapes present."""
        df, folder = self._test_table(), self._soundscape_folder(audio_dir)
        if df is None or folder is None:
            return empty_test_rows()
        windows = df.drop_duplicates("window")
        paths = [folder / f"{f}.ogg" for f in windows["file_id"]]
        keep = np.array([p.exists() for p in paths], dtype=bool)
        t_start, t_end = chunk_spans(windows["end"].to_numpy(np.float64))
        return pd.DataFrame({"row_id": windows["window"].to_numpy(object)[keep],
                             "audio_id": windows["file_id"].to_numpy(object)[keep],
                             "path": [str(p) for p, k in zip(paths, keep) if k],
                             "t_start": t_start[keep], "t_end": t_end[keep]})

    def make_submission(self, row_ids: list[str], scores: np.ndarray) -> pd.DataFrame:
        """`row_id,target` for the test.csv rows whose window was predicted, in its order."""
        df = self._test_table()
        if df is None:
            raise ValueError(f"{self.test_root / 'test.csv'} not found: nothing to submit")
        scores = check_scores(row_ids, scores, len(self.classes))
        at = {r: i for i, r in enumerate(row_ids)}
        df = df[df["window"].isin(at)]
        column = [self.classes.index(b) for b in df["bird"]]
        target = scores[[at[w] for w in df["window"]], column] >= self.threshold
        if len(set(df["window"])) != len(at):
            raise ValueError(f"{len(at) - len(set(df['window']))} predicted window(s) are not "
                             f"in {self.test_root / 'test.csv'}")
        sub = pd.DataFrame({"row_id": df["row_id"].tolist(), "target": target})
        return check_submission(sub, ["row_id", "target"], str(self.test_root / "test.csv"))

    def load_solution(self, path: str | Path) -> tuple[list[str], np.ndarray]:
        """A `row_id,target` table (the solution, or a submission) as one row per window of
        test.csv: 1/0 in the cell of each row's bird, -1 (not scored) elsewhere."""
        sol = read_table(path, ["row_id", "target"])
        df = self._test_table()
        if df is None:
            raise SystemExit(f"{self.test_root / 'test.csv'} not found: cannot read {path}")
        where = df.set_index("row_id")
        unknown = sorted(set(sol["row_id"]) - set(where.index))
        if unknown:
            raise SystemExit(f"{path}: row_id(s) {unknown[:3]} are not in test.csv")
        windows = list(dict.fromkeys(where.loc[sol["row_id"], "window"]))
        y = np.full((len(windows), len(self.classes)), -1.0, dtype=np.float32)
        index = {w: i for i, w in enumerate(windows)}
        truth = sol["target"].astype(str).str.strip().str.lower()
        bad = ~truth.isin(["true", "false", "1", "0"])
        if bad.any():
            fail(path, int(np.flatnonzero(bad.to_numpy())[0]),
                 f"target {sol['target'][bad].iloc[0]!r} is not True or False")
        for rid, value in zip(sol["row_id"], truth.isin(["true", "1"])):
            y[index[where.at[rid, "window"]], self.classes.index(where.at[rid, "bird"])] = value
        return windows, y

    def score(self, y_true: np.ndarray, y_score: np.ndarray) -> float:
        """The scored birds' columns only; in a CV every recording scores each of them."""
        return metrics.weighted_accuracy(np.asarray(y_true)[:, self.scored],
                                         np.asarray(y_score)[:, self.scored], self.threshold)


class BirdClef2021(BirdClef):
    """BirdCLEF 2021: the train side as above; rows from test.csv, label-list submission."""

    metric = "f1_rowwise"
    sample_has_classes = False  # row_id,birds

    def _test_table(self) -> pd.DataFrame | None:
        path = self.test_root / "test.csv"
        if not path.exists():
            return None
        df = read_table(path, ["row_id", "site", "audio_id", "seconds"])
        require_filled(df, path, ["row_id", "site", "audio_id"])
        require_unique(df["row_id"].tolist(), path, "row_id")
        return df

    def test_rows(self, audio_dir: str | Path | None = None) -> pd.DataFrame:
        """test.csv's rows in its order, for those whose soundscape is present."""
        df, folder = self._test_table(), self._soundscape_folder(audio_dir)
        if df is None or folder is None:
            return empty_test_rows()
        return _present_rows(df, folder, self.test_root / "test.csv")[0]

    def labelled_soundscapes(self) -> tuple[pd.DataFrame, np.ndarray] | None:
        """`train_soundscapes/` labelled per 5-s row by `train_soundscape_labels.csv` (`row_id,
        site, audio_id, seconds, birds`), the rows whose soundscape is present."""
        path, folder = self.root / "train_soundscape_labels.csv", self.root / "train_soundscapes"
        if not path.exists() or not folder.is_dir():
            return None
        df = read_table(path, ["row_id", "site", "audio_id", "seconds", "birds"])
        require_filled(df, path, ["row_id", "site", "audio_id"])
        rows, keep = _present_rows(df, folder, path)
        truth = (np.asarray(birds_multi_hot(df["birds"], self.classes)) > 0)[keep]
        return rows, truth.astype(np.float32)

    def make_submission(self, row_ids: list[str], scores: np.ndarray) -> pd.DataFrame:
        df = self._test_table()
        if df is None:
            raise ValueError(f"{self.test_root / 'test.csv'} not found: nothing to submit")
        wanted = set(row_ids)  # rows of absent soundscapes were never predicted
        return birds_submission(row_ids, scores, self.classes, self.threshold,
                                [r for r in df["row_id"] if r in wanted],
                                str(self.test_root / "test.csv"))

    def load_solution(self, path: str | Path) -> tuple[list[str], np.ndarray]:
        """`row_id,birds`, as train_soundscape_labels.csv."""
        return read_birds_solution(path, self.classes)

    def score(self, y_true: np.ndarray, y_score: np.ndarray) -> float:
        return metrics.f1_rowwise(y_true, y_score, self.threshold)


def _row_ends(path: Path) -> list[int] | None:
    """Ends (s) of the 5-s rows of a soundscape, from its header, else by decoding it (formats
    libsndfile refuses); None when it cannot be read at all."""
    try:
        info = sf.info(str(path))
        return chunk_ends(info.frames, info.samplerate)
    except (sf.LibsndfileError, RuntimeError):
        pass
    from audio import AudioError, decode

    try:
        return chunk_ends(len(decode(path, 8000)), 8000)
    except AudioError:
        return None


def _present_rows(df: pd.DataFrame, folder: Path, path: Path) -> tuple[pd.DataFrame, np.ndarray]:
    """2021's rows (`row_id, site, audio_id, seconds`, read from `path`) as test rows over the
    soundscapes of `folder`, and which of `df`'s rows have their soundscape there."""
    files = sorted(folder.glob("*.ogg"), key=lambda p: p.name)
    pairs = list(zip(df["audio_id"], df["site"]))
    found = {pair: _match(files, *pair) for pair in set(pairs)}
    t_start, t_end = chunk_spans(seconds_column(df, path))
    return rows_over_files(df["row_id"].tolist(), [found[pair] for pair in pairs], t_start, t_end)


def _match(files: list[Path], audio_id: str, site: str) -> Path | None:
    """The soundscape `<audio_id>_<site>_<date>.ogg` of a row; by audio_id alone if the site
    part differs."""
    exact = [f for f in files if f.name.startswith(f"{audio_id}_{site}_")]
    loose = [f for f in files if f.name.startswith(f"{audio_id}_")]
    return (exact or loose or [None])[0]
