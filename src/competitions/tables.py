"""Checks and conversions shared by the weak-label formats (Cornell 2020, BirdCLEF).

A malformed Kaggle CSV should stop the run before hours of decoding, with a message a user can
act on: the file, the line in that file (header = line 1, as an editor shows it) and what is
wrong. Line numbers are counted from the file itself, so quoted fields holding newlines (free-text
columns of the real metadata) do not shift them.
"""
from __future__ import annotations

import ast
import csv
import math
from collections.abc import Iterable, Sequence
from pathlib import Path, PurePosixPath
from typing import NoReturn

import numpy as np
import pandas as pd

TEST_COLUMNS = ["row_id", "audio_id", "path", "t_start", "t_end"]
CHUNK = 5  # seconds per scored row in the soundscape formats
NOCALL = "nocall"


def line_of(path: str | Path, index: int) -> int:
    """1-based line where data row `index` (0-based, as pandas numbers it) starts in `path`."""
    try:
        with open(path, newline="", encoding="utf-8", errors="replace") as f:
            reader = csv.reader(f)
            next(reader)  # header
            start, i = reader.line_num + 1, 0
            for record in reader:
                if record:  # pandas skips blank lines; so must the count
                    if i == index:
                        return start
                    i += 1
                start = reader.line_num + 1
    except (OSError, StopIteration, csv.Error):
        pass
    return index + 2  # one line per row: right for every file without multi-line fields


def fail(path: str | Path, index: int, problem: str) -> NoReturn:
    """Stop at data row `index` of `path` (index -1 = the header line)."""
    line = 1 if index < 0 else line_of(path, index)
    raise SystemExit(f"{path} line {line}: {problem}")


def read_table(path: str | Path, required: Sequence[str]) -> pd.DataFrame:
    """A CSV with every column as text (ids such as "1e5" or "0012" stay as written), checked to
    have the `required` columns."""
    path = Path(path)
    if not path.exists():
        raise SystemExit(f"{path}: file not found")
    try:
        df = pd.read_csv(path, dtype=str)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise SystemExit(f"{path}: not a readable CSV table ({e})") from None
    missing = [c for c in required if c not in df.columns]
    if missing:
        fail(path, -1, f"missing column(s) {missing}; has {list(df.columns)}")
    return df


def require_filled(df: pd.DataFrame, path: str | Path, columns: Sequence[str]) -> None:
    """No empty cell in `columns`: an empty label or file name is a broken row, not a default."""
    for col in columns:
        empty = df[col].isna() | (df[col].astype(str).str.strip() == "")
        if empty.any():
            fail(path, int(np.flatnonzero(empty.to_numpy())[0]), f"empty {col}")


def require_known(df: pd.DataFrame, path: str | Path, column: str, known: Sequence[str],
                  where: str) -> None:
    """Every value of `column` is one of `known` (the classes, listed in `where`)."""
    bad = ~df[column].isin(set(known))
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        fail(path, row, f"{column} {df[column].iloc[row]!r} is not one of the {len(known)} "
                        f"classes ({where})")


def require_unique(values: Sequence[str], path: str | Path, what: str) -> None:
    """Recording ids key the cache and the folds, so two rows may not share one."""
    seen: dict[str, int] = {}
    for i, v in enumerate(values):
        if v in seen:
            fail(path, i, f"duplicate {what} {v!r} (first at line {line_of(path, seen[v])})")
        seen[v] = i


def parse_label_list(text, path: str | Path, index: int) -> list[str]:
    """A Python-list string such as "['eurrob1', 'blutit']" (how Kaggle writes secondary labels);
    an empty cell is an empty list."""
    if text is None or (isinstance(text, float) and math.isnan(text)) or not str(text).strip():
        return []
    try:
        value = ast.literal_eval(str(text).strip())
    except (ValueError, SyntaxError):
        fail(path, index, f"secondary_labels {text!r} is not a Python list of strings")
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        fail(path, index, f"secondary_labels {text!r} is not a Python list of strings")
    return [v.strip() for v in value if v.strip()]


def stem_id(filename: str) -> str:
    """Recording id = the file name without extension, folders kept ("acafla/xc1.ogg" ->
    "acafla/xc1"): unique where bare stems might not be."""
    return str(PurePosixPath(filename.replace("\\", "/")).with_suffix(""))


def recordings_table(ids: Sequence[str], paths: Sequence[str], groups: Sequence[str],
                     labels: Sequence[list[int]], secondary: Sequence[list[int]]) -> pd.DataFrame:
    return pd.DataFrame({"id": list(ids), "path": list(paths), "group": list(groups),
                         "labels": list(labels), "secondary": list(secondary)})


def groups_from(df: pd.DataFrame, ids: Sequence[str], column: str = "author") -> list[str]:
    """Fold groups: the recordist when known (one author's files share site, gear and often
    the very bird, so splitting them leaks), else the recording itself."""
    if column not in df.columns:
        return list(ids)
    return [str(a).strip() if isinstance(a, str) and a.strip() else i
            for a, i in zip(df[column], ids)]


def weak_events(recordings: pd.DataFrame) -> pd.DataFrame:
    """One whole-file event per (recording, label): a weak label says "somewhere in here"."""
    rows = [(rid, int(c)) for rid, labels in zip(recordings["id"], recordings["labels"])
            for c in labels]
    return pd.DataFrame({"id": pd.Series([r[0] for r in rows], dtype=object),
                         "cls": pd.Series([r[1] for r in rows], dtype=int),
                         "t_min": 0.0, "t_max": np.inf})


def empty_test_rows() -> pd.DataFrame:
    """No test audio here (the public downloads hide it): nothing to cache or predict."""
    return pd.DataFrame({"row_id": pd.Series(dtype=object), "audio_id": pd.Series(dtype=object),
                         "path": pd.Series(dtype=object), "t_start": pd.Series(dtype=float),
                         "t_end": pd.Series(dtype=float)})


def rows_over_files(row_ids: Sequence[str], audio: Sequence[Path | None], t_start: np.ndarray,
                    t_end: np.ndarray) -> tuple[pd.DataFrame, np.ndarray]:
    """Test rows (`row_id, audio_id, path, t_start, t_end`) of the table rows whose audio file
    was found (`audio[i]` None: absent), and which table rows those are."""
    keep = np.array([f is not None for f in audio], dtype=bool)
    return pd.DataFrame({"row_id": np.asarray(row_ids, dtype=object)[keep],
                         "audio_id": [f.stem for f in audio if f is not None],
                         "path": [str(f) for f in audio if f is not None],
                         "t_start": t_start[keep], "t_end": t_end[keep]}), keep


def chunk_ends(frames: int, sample_rate: int, chunk: int = CHUNK) -> list[int]:
    """Ends (s) of the `chunk`-s rows covering a file, the last one possibly past its end;
    integer arithmetic so a 10.0-s file gives 5, 10 and not a spurious 15."""
    n = max(1, -(-int(frames) // (chunk * int(sample_rate))))
    return [chunk * (k + 1) for k in range(n)]


def seconds_column(df: pd.DataFrame, path: str | Path) -> np.ndarray:
    """`seconds` as floats (NaN where empty = clip-level row); text or negatives stop the run."""
    values = pd.to_numeric(df["seconds"], errors="coerce").to_numpy(np.float64)
    bad = (np.isnan(values) & df["seconds"].notna().to_numpy()) | (values < 0)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        fail(path, row, f"seconds {df['seconds'].iloc[row]!r} is not a time in seconds")
    return values


def chunk_spans(seconds: np.ndarray, chunk: int = CHUNK) -> tuple[np.ndarray, np.ndarray]:
    """Rows are `chunk`-s windows ending at `seconds`; an empty `seconds` is the whole clip."""
    clip = np.isnan(seconds)
    t_start = np.where(clip, 0.0, np.maximum(seconds - chunk, 0.0))
    return t_start, seconds.copy()


def check_scores(row_ids: Sequence[str], scores: np.ndarray, n_classes: int) -> np.ndarray:
    scores = np.asarray(scores, dtype=np.float64)
    if scores.shape != (len(row_ids), n_classes):
        raise ValueError(f"scores have shape {scores.shape}, expected "
                         f"({len(row_ids)}, {n_classes}) for the row_ids and classes")
    if not np.isfinite(scores).all():
        raise ValueError("submission has non-finite scores")
    if len(set(row_ids)) != len(row_ids):
        raise ValueError("submission has duplicate row_ids")
    return scores


def check_row_order(got: Sequence[str], expected: Sequence[str], source: str) -> None:
    """Kaggle matches rows by id but rejects missing or extra ones; exact order also catches a
    row table built from the wrong file."""
    got, expected = list(got), list(expected)
    if got == expected:
        return
    k = next((i for i, (a, b) in enumerate(zip(got, expected)) if a != b),
             min(len(got), len(expected)))
    first = (f"row {k}: got {got[k] if k < len(got) else '(none)'!r}, expected "
             f"{expected[k] if k < len(expected) else '(none)'!r}")
    raise ValueError(f"submission rows differ from {source}'s row_ids ({len(got)} given, "
                     f"{len(expected)} expected; first difference at {first})")


def check_submission(sub: pd.DataFrame, columns: Sequence[str], source: str,
                     row_ids: Sequence[str] | None = None,
                     classes: Sequence[str] | None = None) -> pd.DataFrame:
    """The last look before a submission is written, against what `source` (the sample
    submission or test table) asks for: exactly `columns` in order, exactly `row_ids` in order
    (when the source lists them) with none twice, scores finite and inside [0, 1], and `birds`
    naming only `classes` or `nocall`. Raises ValueError saying what is wrong."""
    if list(sub.columns) != list(columns):
        raise ValueError(f"submission columns {list(sub.columns)[:6]}... differ from {source}'s "
                         f"{list(columns)[:6]}... ({len(sub.columns)} vs {len(columns)})")
    ids = sub[columns[0]].astype(str).tolist()
    if row_ids is not None:
        check_row_order(ids, [str(r) for r in row_ids], source)
    if len(set(ids)) != len(ids):
        raise ValueError(f"submission has duplicate {columns[0]}s")
    if "birds" in columns:
        known = set(classes or ()) | {NOCALL}
        unknown = {b for text in sub["birds"] for b in str(text).split()} - known
        if unknown or sub["birds"].isna().any():
            raise ValueError(f"submission birds name unknown classes {sorted(unknown)[:5]} "
                             "(or are empty)")
        return sub
    values = sub[list(columns[1:])].to_numpy(np.float64)
    if not np.isfinite(values).all():
        raise ValueError("submission has non-finite scores")
    if len(values) and not (-1e-6 <= values.min() and values.max() <= 1 + 1e-6):
        raise ValueError(f"submission scores leave [0, 1]: {values.min():.4g} .. "
                         f"{values.max():.4g}")
    return sub


def birds_strings(scores: np.ndarray, classes: Sequence[str], threshold: float) -> list[str]:
    """Space-separated classes with score >= threshold per row, `nocall` when there are none."""
    names = np.asarray(classes, dtype=object)
    return [" ".join(names[row >= threshold]) or NOCALL for row in np.asarray(scores)]


class BirdCounts(np.ndarray):
    """(rows, classes) label counts that also carry `outside`: per row, how many listed codes
    are none of the classes. The competitions scored such a code as a miss, so the row-wise F1
    needs the count even though no column can hold it. A derived array (a slice, a sum) drops
    it (None): its rows may no longer be the rows counted."""

    outside: np.ndarray | None = None

    def __array_finalize__(self, obj) -> None:
        self.outside = None


def birds_multi_hot(birds: Iterable, classes: Sequence[str]) -> BirdCounts:
    """`birds` strings -> (rows, classes) label counts, as the competition read them: a code
    listed twice in a row counts 2, and codes outside the classes go to `.outside` (each a
    miss for metrics.f1_rowwise, so they lower the score). `nocall` and empty cells add
    nothing: the empty row is the nocall label."""
    index = {c: k for k, c in enumerate(classes)}
    birds = list(birds)
    y = np.zeros((len(birds), len(classes)), dtype=np.float32)
    outside = np.zeros(len(birds), dtype=np.int64)
    for i, text in enumerate(birds):
        if isinstance(text, str):
            for code in text.split():
                if code in index:
                    y[i, index[code]] += 1.0
                elif code != NOCALL:
                    outside[i] += 1
    counts = y.view(BirdCounts)
    counts.outside = outside
    return counts


def read_birds_solution(path: str | Path, classes: Sequence[str]) -> tuple[list[str], np.ndarray]:
    """A `row_id,birds` table (the competitions' solution and submission format)."""
    df = read_table(path, ["row_id", "birds"])
    require_filled(df, path, ["row_id"])
    return df["row_id"].tolist(), birds_multi_hot(df["birds"], classes)


def birds_submission(row_ids: Sequence[str], scores: np.ndarray, classes: Sequence[str],
                     threshold: float, expected: Sequence[str], source: str) -> pd.DataFrame:
    """`row_id,birds` for the rows `expected` lists (from `source`), validated."""
    scores = check_scores(row_ids, scores, len(classes))
    sub = pd.DataFrame({"row_id": list(row_ids),
                        "birds": birds_strings(scores, classes, threshold)})
    return check_submission(sub, ["row_id", "birds"], source, expected, classes)


def names_by_class(df: pd.DataFrame, class_col: str, scientific_col: str,
                   common_col: str) -> dict[str, str]:
    """"Scientific_Common" per class, from the first row of each class (empty parts where the
    table lacks a column)."""
    first = df.groupby(class_col).first()
    parts = [first[col].fillna("").astype(str).str.strip() if col in first.columns
             else pd.Series("", index=first.index) for col in (scientific_col, common_col)]
    return {c: f"{a}_{b}" for c, a, b in zip(first.index, *parts) if a or b}
