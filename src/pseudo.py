"""Pseudo-labels (self-training): a trained experiment's 5-s row predictions as the soft labels
of unlabeled audio, which the student learns through its distillation term (`distill_weight`)
in place of the BirdNET teacher's.

    pseudo_labels = "birdclef2025"   # the experiment that labels (trained first)
    distill_audio = "soundscapes"    # what it labels: the competition's unlabeled soundscapes

Out-of-fold safe: fold k of the student learns from the labels of fold k of the labelling
experiment, a model that never trained on fold k's validation recordings, so the student's CV
scores audio that nothing upstream of it trained on. A full fit learns from the mean of every
fold model (infer.py's ensemble). With `distill_audio = "valid"` the labels are the
experiment's own row OOF (`oof/<exp>.rows.npz`), each row predicted by the fold that validated
on it (transductive: the CV then says what the test's own audio is worth).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from atomic import atomic_path
from audio import open_cached
from backends import TorchBackend, checkpoint_paths, load_fold_models
from competitions.tables import chunk_ends
from configs import load_config
from inference import predict_rows
from oof import MODELS_DIR, OOF_DIR, ROW_SECONDS, model_tag, run_dir
from recordings import is_unlabeled


def pseudo_labels(cfg, comp, train_set: pd.DataFrame, fold: int | None,
                  device: torch.device) -> list[tuple]:
    """(row starts, row probabilities, None) per recording of a fold's training set, rows
    only for its unlabeled recordings (labelled ones teach through their labels)."""
    source = cfg.pseudo_labels
    if source.endswith(".npz"):
        return oof_labels(source, train_set)
    if cfg.distill_audio == "valid":
        return oof_labels(OOF_DIR / f"{source}.rows.npz", train_set)
    return model_labels(cfg, comp, labelling_config(source), train_set, fold, device)


def oof_labels(path: str | Path, train_df: pd.DataFrame) -> list[tuple]:
    """A row OOF's predictions (`oof/<exp>.rows.npz`) as the soft labels of the unlabeled
    recordings of `train_df` (the fold's validation recordings, under distill_audio = "valid")."""
    if not Path(path).is_file():
        raise SystemExit(f"pseudo_labels {path} not found: train that experiment first")
    with np.load(path) as z:
        audio, starts, preds = z["audio"].astype(str), z["t_start"], z["preds"]
    out = []
    for rid, pseudo in zip(train_df["id"], is_unlabeled(train_df)):
        rows = (audio == rid) & pseudo
        out.append((starts[rows].astype(np.float64), preds[rows].astype(np.float32), None))
    return out


def labelling_config(name: str):
    """The config the labelling experiment trained with (models/<name>/config.json)."""
    saved = MODELS_DIR / name / "config.json"
    if not saved.is_file():
        raise SystemExit(f"pseudo_labels {name!r}: no trained run at {saved.parent} (train it "
                         f"first: bash run.sh {name})")
    return load_config(str(saved))


def model_labels(cfg, comp, tcfg, train_set: pd.DataFrame, fold: int | None,
                 device: torch.device) -> list[tuple]:
    """The unlabeled recordings' rows predicted by fold `fold` of `tcfg` (every fold for a full
    fit), cached beside its checkpoints until they change."""
    if tcfg.full_fit:
        raise SystemExit(f"pseudo_labels {tcfg.name!r} is a full fit: its model trained on every "
                         "recording, so no fold of it is out of fold; label with a CV run")
    if tcfg.sample_rate != cfg.sample_rate:
        raise SystemExit(f"pseudo_labels {tcfg.name!r} runs at {tcfg.sample_rate} Hz and "
                         f"{cfg.name} caches its audio at {cfg.sample_rate} Hz: use one rate")
    pseudo = np.array(is_unlabeled(train_set)) & (train_set["split"] == "unlabeled").to_numpy()
    audio = train_set.loc[pseudo, ["id", "cache_path"]].reset_index(drop=True)
    cache = run_dir(tcfg) / f"pseudo_{model_tag(fold)}.npz"
    newest = max(p.stat().st_mtime for p in checkpoint_paths(tcfg, fold))
    labels = read_labels(cache, newest)
    if labels is None or not set(audio["id"]) <= set(labels[0]):
        labels = predict_labels(tcfg, comp, audio, fold, device)
        with atomic_path(cache) as tmp, open(tmp, "wb") as f:
            np.savez(f, audio=labels[0], t_start=labels[1], preds=labels[2])
    ids, starts, preds = labels
    out = []
    for rid, mine in zip(train_set["id"], pseudo):
        rows = (ids == rid) & mine
        out.append((starts[rows].astype(np.float64), preds[rows].astype(np.float32), None))
    return out


def read_labels(path: Path, newest: float) -> tuple | None:
    """A cached (audio, t_start, preds) no older than the newest checkpoint, else None."""
    if not path.is_file() or path.stat().st_mtime < newest:
        return None
    with np.load(path) as z:
        return z["audio"].astype(str), z["t_start"], z["preds"]


def predict_labels(tcfg, comp, audio: pd.DataFrame, fold: int | None,
                   device: torch.device) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every 5-s row of each cached recording, scored as infer.py scores test rows."""
    rows = [(f"{rid}_{end}", rid, path, end - ROW_SECONDS, float(end))
            for rid, path in zip(audio["id"], audio["cache_path"])
            for end in chunk_ends(len(open_cached(path)), tcfg.sample_rate)]
    rows = pd.DataFrame(rows, columns=["row_id", "audio_id", "path", "t_start", "t_end"])
    models = load_fold_models(tcfg, comp.classes, device, fold)
    backend = TorchBackend([models], device, tcfg.amp)
    preds = predict_rows([tcfg], backend, rows, device)[0]
    print(f"pseudo-labels: {len(rows)} rows of {len(audio)} recording(s) from "
          f"{tcfg.name} {model_tag(fold) if fold is not None else 'folds (mean)'}")
    return rows["audio_id"].to_numpy(str), rows["t_start"].to_numpy(), preds
