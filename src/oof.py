"""The out-of-fold (OOF) format that lets experiments be compared and blended.

`oof/<exp>.npy` holds the OOF probabilities (rows, classes) as a plain array anyone can
`np.load`; `oof/<exp>.json` beside it says what the rows and columns are (ids, classes, folds,
targets, competition, metric, CV); `oof/<exp>.test.npz` holds the raw test scores that infer.py
reduced to the submission's rows, which ensemble.py blends with the same weights.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from atomic import atomic_path, write_json, write_npy

OOF_DIR = Path("oof")
MODELS_DIR = Path("models")


def run_dir(cfg) -> Path:
    """Checkpoints, logs and the resolved config of one experiment."""
    return MODELS_DIR / cfg.name


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

    def save(self, out_dir: Path = OOF_DIR) -> Path:
        out_dir = Path(out_dir)
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
        path = Path(path)
        meta_path = path.with_suffix(".json")
        if not meta_path.exists():
            raise SystemExit(f"{path}: no {meta_path.name} beside it; OOF files are written by "
                             "train.py as <exp>.npy + <exp>.json")
        meta = json.loads(meta_path.read_text())
        preds = np.load(path)
        targets = np.zeros_like(preds, dtype=np.float32)
        for i, pos in enumerate(meta["targets"]):
            targets[i, pos] = 1.0
        if preds.shape != (len(meta["ids"]), len(meta["classes"])):
            raise SystemExit(f"{path}: shape {preds.shape} does not match {meta_path.name}")
        return cls(meta["experiment"], meta["competition"], meta["config"], meta["metric"],
                   meta["classes"], meta["ids"], np.asarray(meta["folds"]), targets, preds,
                   meta["cv"], meta["fold_cv"])


def test_path(experiment: str, out_dir: Path = OOF_DIR) -> Path:
    return Path(out_dir) / f"{experiment}.test.npz"


def save_test(experiment: str, row_ids: list[str], classes: list[str], scores: np.ndarray,
              out_dir: Path = OOF_DIR) -> Path:
    path = test_path(experiment, out_dir)
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, row_ids=np.asarray(row_ids), classes=np.asarray(classes),
                 scores=scores.astype(np.float32))
    return path


def load_test(experiment: str, out_dir: Path = OOF_DIR) -> tuple[list[str], list[str], np.ndarray]:
    path = test_path(experiment, out_dir)
    if not path.exists():
        raise SystemExit(f"{path} not found: run `python src/infer.py {experiment}` first")
    with np.load(path) as z:
        return z["row_ids"].tolist(), z["classes"].tolist(), z["scores"]


def save_fold_part(cfg, fold: int, ids: list[str], preds: np.ndarray) -> None:
    """The best epoch's predictions on one validation fold, merged later by `merge_folds`."""
    path = run_dir(cfg) / f"oof_fold{fold}.npz"
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, ids=np.asarray(ids), preds=preds.astype(np.float32))


def merge_folds(cfg, competition, recordings) -> Oof:
    """Join the trained folds' validation predictions into `oof/<exp>.npy` + `.json`."""
    import pandas as pd

    from datasets import multi_hot

    folds = cfg.train_folds if cfg.train_folds is not None else range(cfg.n_folds)
    parts = []
    for fold in folds:
        path = run_dir(cfg) / f"oof_fold{fold}.npz"
        if path.exists():
            with np.load(path) as z:
                parts.append(pd.DataFrame({"id": z["ids"].astype(str), "fold": fold,
                                           "row": list(z["preds"])}))
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
    return oof
