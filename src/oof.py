"""The out-of-fold (OOF) format that lets experiments be compared and blended.

`oof/<exp>.npy` holds the OOF probabilities (rows, classes) as a plain array anyone can
`np.load`; `oof/<exp>.json` beside it says what the rows and columns are (ids, classes, folds,
targets, competition, metric, CV); `oof/<exp>.test.npz` holds the raw test scores that infer.py
reduced to the submission's rows (with each row's recording and start), which ensemble.py blends
with the same weights.

`oof/<exp>.rows.npz` holds the same validation predictions cut into 5-s rows, the way infer.py
cuts a soundscape into test rows (max of the timeline inside each row): what row-level
postprocessing (smoothing with neighbouring rows, a recording prior) is judged on. A row's targets
are the classes whose labelled events overlap it; where an event is a weak label (spanning the
whole file) every row of the recording gets it, and the row is marked `weak`.
"""
from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from atomic import atomic_path, write_json, write_npy
from metrics import nonfinite_count
from recordings import multi_hot

ROW_SECONDS = 5  # the scored row of the soundscape formats (competitions.tables.CHUNK)

OOF_DIR = Path("oof")
MODELS_DIR = Path("models")


UNREADABLE = (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile)  # np.load, json
OOF_FIELDS = ("experiment", "competition", "config", "metric", "cv", "fold_cv", "classes", "ids",
              "folds", "targets")


def refuse_nonfinite(values, where: str, what: str, then: str) -> None:
    """Stops when `values` (an array, or a list of them) hold NaN or inf: a metric over them
    still looks like a score (a diverged run's all-NaN OOF once scored CV 0.49), and a blend
    would carry them to the test set."""
    arrays = [np.asarray(v) for v in (values if isinstance(values, list) else [values])]
    for a in arrays:
        if not np.issubdtype(a.dtype, np.number):
            raise SystemExit(f"{where}: {what} are not numbers (dtype {a.dtype}); {then}")
    bad = sum(nonfinite_count(a) for a in arrays)
    if bad:
        raise SystemExit(f"{where}: {bad} of {sum(a.size for a in arrays)} {what} are NaN or "
                         f"inf; {then}")


def read_arrays(path: Path, kind: str) -> np.ndarray | dict[str, np.ndarray]:
    """An OOF or test file read whole (an .npz as a dict of its arrays), stopping with its
    name when it is not one: truncated, random bytes, pickled objects."""
    try:
        data = np.load(path, allow_pickle=False)
        if not isinstance(data, np.lib.npyio.NpzFile):
            return data  # an .npy array, read whole
        with data:
            return {k: data[k] for k in data.files}
    except FileNotFoundError:
        raise SystemExit(f"{path} not found") from None
    except UNREADABLE as e:
        reason = " ".join(f"{type(e).__name__}: {e}".split())
        raise SystemExit(f"{path}: not a readable {kind} ({reason}); write it again with the "
                         "script that makes it") from None


def run_dir(cfg) -> Path:
    """Checkpoints, logs and the resolved config of one experiment."""
    return MODELS_DIR / cfg.name


def model_tag(fold: int | None, member: int = 0) -> str:
    """Name of a trained model's files: fold<K> (full for a full fit), and for the members
    of a seed bag past the first fold<K>_bag<j>."""
    return ("full" if fold is None else f"fold{fold}") + (f"_bag{member}" if member else "")


@dataclass
class Oof:
    experiment: str
    competition: str
    config: dict  # the resolved config of the run that made it
    metric: str
    classes: list[str]
    ids: list[str]
    folds: np.ndarray
    targets: np.ndarray  # multi-hot (rows, classes)
    preds: np.ndarray  # probabilities (rows, classes)
    cv: float
    fold_cv: dict[str, float]
    audio: list[str] | None = None  # row OOF only: each row's recording,
    t_start: np.ndarray | None = None  # its start (s)
    weak: np.ndarray | None = None  # and whether its targets are a weak (whole-file) label

    def take(self, index: np.ndarray) -> "Oof":
        """The same OOF restricted to, or reordered by, `index` (positions or a boolean mask)."""
        index = np.arange(len(self.ids))[index]
        rows = {k: None if getattr(self, k) is None else np.asarray(getattr(self, k))[index]
                for k in ("audio", "t_start", "weak")}
        return replace(self, ids=[self.ids[i] for i in index], folds=self.folds[index],
                       targets=self.targets[index], preds=self.preds[index], **rows)

    def save(self, out_dir: Path = OOF_DIR) -> Path:
        out_dir = Path(out_dir)
        refuse_nonfinite(self.preds, self.experiment, "OOF predictions", "the OOF is not saved")
        meta = {"experiment": self.experiment, "competition": self.competition,
                "config": self.config,
                "metric": self.metric, "cv": self.cv, "fold_cv": self.fold_cv,
                "classes": self.classes, "ids": self.ids, "folds": self.folds.tolist(),
                "targets": [np.flatnonzero(row).tolist() for row in self.targets]}
        path = out_dir / f"{self.experiment}.npy"
        write_npy(path, self.preds.astype(np.float32))
        write_json(path.with_suffix(".json"), meta)  # last: its presence marks a whole OOF
        return path

    @classmethod
    def load(cls, path: str | Path) -> "Oof":
        """The OOF at `path`; a file that is unreadable, of the wrong shape or holding NaN or
        inf stops the caller with the file's name (ensemble.py, score.py)."""
        path = Path(path)
        meta_path = path.with_suffix(".json")
        if not meta_path.exists():
            raise SystemExit(f"{path}: no {meta_path.name} beside it; OOF files are written by "
                             "train.py as <exp>.npy + <exp>.json")
        try:
            meta = json.loads(meta_path.read_text())
            n_rows, n_classes = len(meta["ids"]), len(meta["classes"])
            missing = [k for k in OOF_FIELDS if k not in meta]
        except (*UNREADABLE, TypeError) as e:
            raise SystemExit(f"{meta_path}: not an OOF description ({type(e).__name__}: "
                             f"{' '.join(str(e).split())}); train the experiment again") from None
        if missing:
            raise SystemExit(f"{meta_path}: not an OOF description (no {', '.join(missing)}); "
                             "train the experiment again")
        preds = read_arrays(path, ".npy array")
        if not isinstance(preds, np.ndarray) or preds.shape != (n_rows, n_classes):
            shape = getattr(preds, "shape", "of an .npz archive")
            raise SystemExit(f"{path}: shape {shape} does not match {meta_path.name}")
        refuse_nonfinite(preds, path, f"OOF predictions of {meta['experiment']}",
                         "no metric is computed over them: train the experiment again")
        targets = np.zeros_like(preds, dtype=np.float32)
        for i, pos in enumerate(meta["targets"]):
            targets[i, pos] = 1.0
        return cls(meta["experiment"], meta["competition"], meta["config"], meta["metric"],
                   meta["classes"], meta["ids"], np.asarray(meta["folds"]), targets, preds,
                   meta["cv"], meta["fold_cv"])

    @classmethod
    def load_rows(cls, path: str | Path) -> "Oof":
        """The 5-s row OOF beside `oof/<exp>.npy` (`oof/<exp>.rows.npz`)."""
        rec = cls.load(path)
        rows_path = Path(path).with_suffix(".rows.npz")
        if not rows_path.exists():
            raise SystemExit(f"{rows_path} not found: train {rec.experiment} again to save "
                             "row-level OOF")
        z = read_arrays(rows_path, "row OOF (.npz)")
        refuse_nonfinite(z["preds"], rows_path, f"row OOF predictions of {rec.experiment}",
                         "no metric is computed over them: train the experiment again")
        return cls(rec.experiment, rec.competition, rec.config, rec.metric, rec.classes,
                   z["ids"].tolist(), z["folds"], z["targets"].astype(np.float32),
                   z["preds"], float("nan"), {}, z["audio"].tolist(), z["t_start"],
                   z["weak"])


def row_targets(events, rec_id: str, n_rows: int, n_classes: int) -> tuple[np.ndarray, bool]:
    """Classes whose labelled events overlap each row of one recording; True when one of them
    is a weak label (no end time), which then marks every row."""
    y = np.zeros((n_rows, n_classes), dtype=bool)
    starts = np.arange(n_rows) * ROW_SECONDS
    weak = False
    for cls, t0, t1 in events.get(rec_id, ()):
        weak |= not np.isfinite(t1)
        y[(starts < t1) & (starts + ROW_SECONDS > t0), int(cls)] = True
    return y, weak


def test_path(experiment: str, out_dir: Path = OOF_DIR) -> Path:
    return Path(out_dir) / f"{experiment}.test.npz"


@dataclass
class TestScores:
    row_ids: list[str]
    classes: list[str]
    scores: np.ndarray
    audio: list[str]  # each row's recording and start: neighbouring rows for postprocessing
    t_start: np.ndarray


def save_test(experiment: str, row_ids: list[str], classes: list[str], scores: np.ndarray,
              audio: list[str], t_start: np.ndarray, out_dir: Path = OOF_DIR) -> Path:
    path = test_path(experiment, out_dir)
    refuse_nonfinite(scores, experiment, "test scores", f"{path} is not written")
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, row_ids=np.asarray(row_ids), classes=np.asarray(classes),
                 scores=scores.astype(np.float32), audio=np.asarray(audio),
                 t_start=np.asarray(t_start, dtype=np.float64))
    return path


def load_test(experiment: str, out_dir: Path = OOF_DIR) -> TestScores:
    path = test_path(experiment, out_dir)
    if not path.exists():
        raise SystemExit(f"{path} not found: run `python src/infer.py {experiment}` first")
    z = read_arrays(path, "test score file (.npz)")
    if "audio" not in z:
        raise SystemExit(f"{path} predates row recordings: run `python src/infer.py "
                         f"{experiment}` again")
    refuse_nonfinite(z["scores"], path, f"test scores of {experiment}",
                     f"run `python src/infer.py {experiment}` again")
    return TestScores(z["row_ids"].tolist(), z["classes"].tolist(), z["scores"],
                      z["audio"].tolist(), z["t_start"])


def save_fold_part(cfg, fold: int, ids: list[str], preds: np.ndarray,
                   rows: list[np.ndarray], member: int | None = None) -> None:
    """The best epoch's predictions on one validation fold, per recording and per 5-s row
    (`rows[i]` from `recording_rows`), merged later by `merge_folds`; `member`: one model
    of a seed bag (its own part, beside the bag's)."""
    path = run_dir(cfg) / f"oof_fold{fold}{'' if member is None else f'_bag{member}'}.npz"
    for what, values in (("OOF predictions", preds), ("row OOF predictions", list(rows))):
        refuse_nonfinite(values, f"{cfg.name} fold{fold}", what, f"{path} is not written")
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, ids=np.asarray(ids), preds=preds.astype(np.float32),
                 rows=np.concatenate(rows).astype(np.float32),
                 row_counts=np.array([len(r) for r in rows]))


def merge_folds(cfg, competition, recordings) -> Oof:
    """Join the trained folds' validation predictions into `oof/<exp>.npy` + `.json`."""
    folds = cfg.train_folds if cfg.train_folds is not None else range(cfg.n_folds)
    parts = []
    for fold in folds:
        path = run_dir(cfg) / f"oof_fold{fold}.npz"
        if path.exists():
            z = read_arrays(path, "fold OOF (.npz)")
            refuse_nonfinite([z[k] for k in ("preds", "rows") if k in z], path,
                             f"OOF predictions of {cfg.name} fold{fold}",
                             "no CV is computed over them: delete it and "
                             f"{run_dir(cfg)}/fold{fold}*.pt, then train the fold again")
            rows = (np.split(z["rows"], np.cumsum(z["row_counts"])[:-1]) if "rows" in z
                    else [None] * len(z["ids"]))  # a fold saved before row OOF existed
            parts.append(pd.DataFrame({"id": z["ids"].astype(str), "fold": fold,
                                       "row": list(z["preds"]), "rows": rows}))
    if not parts:
        raise SystemExit(f"no trained fold of {cfg.name} in {run_dir(cfg)}")
    table = recordings[["id", "labels"]].merge(pd.concat(parts), on="id", how="inner")
    preds = np.stack(table["row"].to_numpy()).astype(np.float32)
    targets = multi_hot(table["labels"], len(competition.classes))
    fold_cv = {str(f): competition.score(targets[m], preds[m])
               for f in sorted(table["fold"].unique()) for m in [table["fold"].to_numpy() == f]}
    oof = Oof(cfg.name, cfg.competition, cfg.to_dict(), competition.metric, competition.classes,
              table["id"].tolist(), table["fold"].to_numpy(), targets, preds,
              competition.score(targets, preds), fold_cv)
    oof.save()
    if table["rows"].isna().any():
        print(f"{cfg.name}: no row OOF (some folds were trained before it was saved)")
    else:
        save_rows(OOF_DIR / f"{cfg.name}.rows.npz", table, competition)
    return oof


def save_rows(path: Path, table, competition) -> None:
    """The merged folds' 5-s rows with their targets (see the module docstring)."""
    events = competition.train_events()
    by_id = {rid: g[["cls", "t_min", "t_max"]].to_numpy(np.float64)
             for rid, g in events.groupby("id")}
    ids, audio, starts, folds, targets, weak = [], [], [], [], [], []
    for rid, fold, rows in zip(table["id"], table["fold"], table["rows"]):
        y, is_weak = row_targets(by_id, rid, len(rows), len(competition.classes))
        t0 = np.arange(len(rows)) * ROW_SECONDS
        ids += [f"{rid}_{t + ROW_SECONDS}" for t in t0]
        audio += [rid] * len(rows)
        starts.append(t0)
        folds += [fold] * len(rows)
        targets.append(y)
        weak += [is_weak] * len(rows)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, ids=np.asarray(ids), audio=np.asarray(audio), t_start=np.concatenate(starts),
                 folds=np.asarray(folds), preds=np.concatenate(list(table["rows"])),
                 targets=np.concatenate(targets), weak=np.asarray(weak, dtype=bool))
