"""From a recording's frame scores to what is scored: its recording score, its 5-s rows, the
test rows of a submission, and the validation meters.

One module, so that every path reduces frames the same way: validation of a trained CNN
(train.py), the BirdNET teacher's folds and test rows (teacher.py), infer.py's submission rows
and the benchmarks. A change to a reduction changes them all together.
"""
from __future__ import annotations

from typing import Iterator

import numpy as np
import pandas as pd
import torch
import torch.nn as nn

from backends import TorchBackend
from cache import cached_path
from distributed import all_gather, shard
from engine import Collect, predict_stream
from metrics import lwlrap, macro_auc, padded_cmap, score_all
from oof import ROW_SECONDS
from postprocess import Temporal, temporal_rows
from soundscapes import synthetic_rows
from timeline import RowReducer, check_reduce, row_frames
from windows import RecordingWindows


def recording_score(timeline: np.ndarray, reduce: str = "max") -> np.ndarray:
    """A whole recording's score per class from its (frames, classes) timeline: the max of its
    frames, or their mean (`infer_recording`)."""
    return timeline.mean(axis=0) if check_reduce(reduce) == "mean" else timeline.max(axis=0)


def reduce_rows(timeline: np.ndarray, fps: float, t_start: np.ndarray,
                t_end: np.ndarray, reduce: str | np.ndarray = "max") -> np.ndarray:
    """Max (or mean) per class inside each [t_start, t_end) of a whole (frames, classes)
    timeline held in memory (t_end NaN: to the end); a row past the end of the audio scores 0."""
    reducer = RowReducer(*row_frames(np.asarray(t_start), np.asarray(t_end), fps), reduce)
    reducer.add(0, np.asarray(timeline))
    return reducer.result()


def recording_rows(timeline: np.ndarray, fps: float, reduce: str = "max") -> np.ndarray:
    """(rows, classes): max (or mean) of a recording's timeline in each ROW_SECONDS row
    covering it, the last one possibly past its end (as the soundscape formats' test rows)."""
    seconds = max(len(timeline) - 1, 1) / fps
    n = max(1, int(np.ceil(seconds / ROW_SECONDS - 1e-6)))
    starts = np.arange(n, dtype=np.float64) * ROW_SECONDS
    return reduce_rows(timeline, fps, starts, starts + ROW_SECONDS, reduce)


def recording_results(cfg, timeline: np.ndarray, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """A validation recording's (score, 5-s rows): `infer_recording` over its frames, and its
    rows after `infer_temporal`, as the test rows of infer.py."""
    return (recording_score(timeline, cfg.infer_recording),
            temporal_rows(cfg.infer_temporal, recording_rows(timeline, fps)))


def row_reduces(cfg, t_start: np.ndarray, t_end: np.ndarray) -> np.ndarray:
    """How each test row reduces its frames: a row spanning its whole file (RFCX, Cornell's
    site_3) by `infer_recording`, the others by `infer_reduce`."""
    whole = (np.asarray(t_start) <= 0) & np.isnan(np.asarray(t_end, dtype=float))
    return np.where(whole, cfg.infer_recording, cfg.infer_reduce)


def row_reducer(cfg, t_start: np.ndarray, t_end: np.ndarray, fps: float) -> RowReducer:
    """The RowReducer of one recording's test rows, fed stretch by stretch (infer.py) or with
    the whole timeline at once (the teacher)."""
    return RowReducer(*row_frames(t_start, t_end, fps), row_reduces(cfg, t_start, t_end))


def finish_rows(cfg, scores: np.ndarray, rows: pd.DataFrame) -> np.ndarray:
    """The submission's rows after `infer_temporal`: each recording's rows mixed as validation
    mixes them."""
    if not cfg.infer_temporal:
        return scores
    return Temporal(**cfg.infer_temporal).apply(scores, rows["audio_id"].tolist(),
                                               rows["t_start"].to_numpy(float)).astype(np.float32)


def predict_timelines(models: list[nn.Module], windows, cfg, device: torch.device,
                      desc: str = "predict",
                      ensemble: bool = False) -> Iterator[tuple[int, list[np.ndarray]]]:
    """For each recording of `windows`, its framewise probabilities on the recording's
    timeline, one (frames, classes) array per model, or with `ensemble` one array: the
    models' mean, taken as infer.py takes the mean of an experiment's fold models."""
    groups = [list(models)] if ensemble else [[m] for m in models]
    backend = TorchBackend(groups, device, cfg.amp,
                           channels_last=device.type == "cuda")  # as train.py builds them
    yield from predict_stream(backend, windows, [cfg] * len(groups), lambda r, g: Collect(),
                              device, desc)


def validate(cfg, comp, models, valid_df: pd.DataFrame, y_valid: np.ndarray,
             device: torch.device) -> tuple[dict, np.ndarray, list[np.ndarray]]:
    """Whole validation recordings through the model (or the mean of a seed bag's models, as
    infer.py means folds) in sliding windows, then scored. Under torchrun each rank predicts
    its share of the recordings and every rank scores them all."""
    mine = shard(len(valid_df))
    windows = RecordingWindows.from_config(valid_df.cache_path.iloc[mine], cfg)  # as infer.py
    fps = cfg.sample_rate / cfg.hop_length
    models = models if isinstance(models, list) else [models]
    part = {mine[i]: recording_results(cfg, timeline, fps)
            for i, (timeline,) in predict_timelines(models, windows, cfg, device, "valid",
                                                    ensemble=True)}
    scores, preds, rows = score_recordings(cfg, comp, y_valid, {i: v for p in all_gather(part)
                                                                for i, v in p.items()})
    if soundscape_view(cfg, comp):
        scores.update(soundscape_scores(cfg, comp, models, valid_df, y_valid.shape[1], device))
    return scores, preds, rows


def soundscape_view(cfg, comp) -> bool:
    """Whether validation scores a soundscape view too: weak-label formats with
    valid_soundscapes set (labelled or synthetic soundscapes, soundscape_rows)."""
    return bool(cfg.valid_soundscapes) and getattr(comp, "weak_labels", False)


def soundscape_rows(cfg, comp, valid_df: pd.DataFrame, n_classes: int
                    ) -> tuple[pd.DataFrame, np.ndarray]:
    """The soundscape view of a fold as test rows and their (rows, classes) truth: the
    competition's own labelled soundscapes where it ships them (read from the cache where
    prepare.py put them), else soundscapes mixed from the fold's validation recordings
    (soundscapes.py)."""
    labelled = comp.labelled_soundscapes()
    if labelled is None:
        return synthetic_rows(cfg, valid_df, n_classes)
    rows, y = labelled
    cached = [cached_path(cfg, "soundscape", a) for a in rows["audio_id"]]
    return rows.assign(path=[str(c) if c.exists() else p
                             for c, p in zip(cached, rows["path"])]), y


def scape_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """Row macro AUC (BirdCLEF 2024/25), row LWLRAP and padded cmAP (2023) of soundscape rows."""
    return {"scape_auc": macro_auc(y, p), "scape_lwlrap": lwlrap(y, p),
            "scape_cmap": padded_cmap(y, p)}


def soundscape_scores(cfg, comp, models: list[nn.Module], valid_df: pd.DataFrame,
                      n_classes: int, device: torch.device) -> dict[str, float]:
    """The soundscape view's scores: its 5-s rows reduced and mixed as infer.py does test rows."""
    rows, y = soundscape_rows(cfg, comp, valid_df, n_classes)
    if not len(rows):  # no validation recording with a label to mix
        return {}
    return scape_metrics(y, row_scores(cfg, models, rows, device))


def reduced_rows(cfg, models: list[nn.Module], rows: pd.DataFrame, device: torch.device,
                 reduces: list) -> list[np.ndarray]:
    """(rows, classes) scores of test-like `rows` by the model (or the bag's mean), once per
    entry of `reduces` (max or mean of a row's frames: one for all rows, or one per row),
    each recording predicted once in sliding windows and reduced as soon as it is (a long
    soundscape's timeline is not kept). Under torchrun each rank predicts its share of the
    recordings and every rank gets all the rows."""
    audio = rows.drop_duplicates("audio_id").reset_index(drop=True)
    mine = shard(len(audio))
    index = [np.flatnonzero(rows["audio_id"].to_numpy() == a) for a in audio["audio_id"]]
    t_start, t_end = rows["t_start"].to_numpy(float), rows["t_end"].to_numpy(float)
    reduces = [np.broadcast_to(np.asarray(r), (len(rows),)) for r in reduces]
    fps = cfg.sample_rate / cfg.hop_length
    windows = RecordingWindows.from_config(audio["path"].iloc[mine], cfg)
    part = {}
    for i, (timeline,) in predict_timelines(models, windows, cfg, device, "soundscapes",
                                            ensemble=True):
        r = index[mine[i]]
        part[mine[i]] = [reduce_rows(timeline, fps, t_start[r], t_end[r], red[r])
                         for red in reduces]
    results = {a: v for gathered in all_gather(part) for a, v in gathered.items()}
    n_classes = next(iter(results.values()))[0].shape[1]
    out = [np.zeros((len(rows), n_classes), dtype=np.float32) for _ in reduces]
    for a, values in results.items():
        for scores, v in zip(out, values):
            scores[index[a]] = v
    return out


def row_scores(cfg, models: list[nn.Module], rows: pd.DataFrame,
               device: torch.device) -> np.ndarray:
    """(rows, classes): the model's (or bag's mean) scores of test-like rows, each recording
    predicted once in sliding windows, its rows reduced and then mixed as infer.py does."""
    reduce = row_reduces(cfg, rows["t_start"].to_numpy(float), rows["t_end"].to_numpy(float))
    return finish_rows(cfg, reduced_rows(cfg, models, rows, device, [reduce])[0], rows)


def score_recordings(cfg, comp, y_valid: np.ndarray,
                     results: dict) -> tuple[dict, np.ndarray, list[np.ndarray]]:
    """`results[i]` = recording i's (score, 5-s rows), recording_results': the LWLRAP, F1, mAP
    and top-1 meters per recording, the competition's own metric, and `window_auc`, the macro
    AUC over 5-s rows labelled with their recording's labels (BirdCLEF's rows). Returns the
    scores, the recording predictions and the rows (the row-level OOF)."""
    preds = np.stack([results[i][0] for i in range(len(y_valid))])
    rows = [results[i][1] for i in range(len(y_valid))]
    window_truth = np.concatenate([np.repeat(y_valid[i:i + 1], len(r), axis=0)
                                   for i, r in enumerate(rows)])
    scores = score_all(y_valid, preds, cfg.threshold)
    scores["window_auc"] = macro_auc(window_truth, np.concatenate(rows))
    if comp.metric not in scores:  # e.g. padded cmAP; LWLRAP is already there
        scores[comp.metric] = comp.score(y_valid, preds)
    return scores, preds, rows
