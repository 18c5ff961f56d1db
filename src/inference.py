"""Test rows to scores: the submission's rows, their audio, and each experiment's scores from
one streamed pass over the windows (infer.py, the benchmarks, export's check)."""
from __future__ import annotations

import sys
from typing import Sequence

import numpy as np
import pandas as pd
import torch

from cache import cached_path
from engine import predict_stream
from recordings import multi_hot
from scoring import finish_rows, row_reducer
from timeline import RowReducer
from windows import RecordingWindows

# what experiments scored in one pass must share: they see the same windows
SHARED = ("competition", "data_dir", "test_dir", "sample_rate", "infer_duration", "infer_hop",
          "infer_tta_shifts", "infer_batch_size")


def check_shared(cfgs: Sequence) -> None:
    for cfg in cfgs[1:]:
        differ = [k for k in SHARED if getattr(cfg, k) != getattr(cfgs[0], k)]
        if cfg.infer_duration is None and cfgs[0].infer_duration is None:
            differ += ["duration"] if cfg.duration != cfgs[0].duration else []
        if differ:
            raise SystemExit(f"{cfg.name} and {cfgs[0].name} differ in {differ}: infer them "
                             "separately")


def test_rows(cfg, comp, audio_dir: str | None = None) -> pd.DataFrame:
    """The submission's rows; audio from the cache prepare.py made where it has the file,
    unless `audio_dir` is given."""
    rows = comp.test_rows(audio_dir).reset_index(drop=True)
    if not audio_dir:
        cached = [cached_path(cfg, "test", a) for a in rows["audio_id"]]
        rows["path"] = [str(c) if c.exists() else p for c, p in zip(cached, rows["path"])]
    return rows


def class_prior(comp) -> tuple[np.ndarray, str]:
    """What a row of an unreadable test file scores: the fraction of train recordings labelled
    with each class (the recording-level prior), or zeros where no train table is at hand."""
    try:
        labels = comp.train_recordings()["labels"]
    except (SystemExit, OSError, KeyError, NotImplementedError):
        labels = []
    if not len(labels):
        return np.zeros(len(comp.classes), dtype=np.float32), "zero scores"
    return multi_hot(labels, len(comp.classes)).mean(axis=0), "the class prior"


def predict_rows(cfgs: Sequence, backend, rows: pd.DataFrame, device: torch.device,
                 fallback: np.ndarray | None = None, fallback_name: str = "zero scores"
                 ) -> list[np.ndarray]:
    """(rows, classes) scores of each experiment of `cfgs` (all held by `backend`).

    No row is ever dropped: the rows of a recording that cannot be read get `fallback` (zeros
    when None), with a warning naming the file."""
    audio = rows.drop_duplicates("audio_id")[["audio_id", "path"]].reset_index(drop=True)
    windows = RecordingWindows.from_config(audio["path"].tolist(), cfgs[0])
    row_index = [np.flatnonzero(rows["audio_id"].to_numpy() == a) for a in audio["audio_id"]]
    t_start, t_end = rows["t_start"].to_numpy(float), rows["t_end"].to_numpy(float)
    blends = [cfg.infer_clip_blend for cfg in cfgs]

    def sink(r: int, g: int) -> RowReducer:
        idx = row_index[r]
        return row_reducer(cfgs[g], t_start[idx], t_end[idx],
                           cfgs[g].sample_rate / cfgs[g].hop_length)

    scores: list[np.ndarray | None] = [None] * len(cfgs)
    failed: dict[int, str] = {}
    for r, results in predict_stream(backend, windows, cfgs, sink, device, "infer",
                                     with_clip=any(blends), on_failure=failed.__setitem__):
        for g, (result, w) in enumerate(zip(results, blends)):
            if any(blends):
                frame, clip = np.split(result, 2, axis=1)
                result = (1 - w) * frame + w * clip
            if scores[g] is None:
                scores[g] = np.zeros((len(rows), result.shape[1]), dtype=np.float32)
            scores[g][row_index[r]] = result
    if failed:
        fill_failed(scores, failed, audio, row_index, fallback, fallback_name)
    return [finish_rows(c, s, rows) for c, s in zip(cfgs, scores)]


def fill_failed(scores: list, failed: dict[int, str], audio: pd.DataFrame,
                row_index: list[np.ndarray], fallback: np.ndarray | None,
                fallback_name: str) -> None:
    """The rows of each recording that could not be read get `fallback`, with a warning."""
    if fallback is None and any(s is None for s in scores):
        raise SystemExit(f"none of the {len(audio)} test recordings could be read: "
                         + "; ".join(f"{audio['path'][r]}: {why}" for r, why in failed.items()))
    for r, why in sorted(failed.items()):
        print(f"warning: could not read {audio['path'][r]} ({why}); its {len(row_index[r])} "
              f"row(s) get {fallback_name}", file=sys.stderr)
    n_rows = sum(len(i) for i in row_index)
    for g in range(len(scores)):
        if scores[g] is None:
            scores[g] = np.zeros((n_rows, len(fallback)), dtype=np.float32)
        for r in failed:
            scores[g][row_index[r]] = 0.0 if fallback is None else fallback
