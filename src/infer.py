"""Predict the test set with every trained fold and write the submission.

    python src/infer.py EXP [--also EXP2 ...] [--backend torch|onnx|openvino]
                        [--audio-dir DIR] [--out PATH] [-o field=value ...]

Each recording is cut into windows of `infer_duration` s every `infer_hop` s (plus the passes
of time-shift TTA), decoded and resampled by loader workers; windows of consecutive recordings
share batches. Every fold model, and every experiment named with --also, scores each batch
while it is in memory; the fold-mean framewise outputs are stitched onto the recording's
timeline and each submission row takes their max (or mean) inside its time span, optionally
blended with the clipwise scores of the windows covering it, then (`infer_temporal`) mixed
with the recording's other rows as validation mixes them. Each experiment gets its own
submission and test scores (blend them with ensemble.py). `--backend onnx|openvino` runs the
files `python src/export.py EXP` wrote.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import torch

from atomic import write_csv
from backends import BACKENDS, load_backend
from competitions import checked_submission, competition_for
from configs import experiment_cli, load_config, parse_overrides
from datasets import RecordingWindows, cached_path, multi_hot
from engine import predict_stream, resolve_device
from oof import save_test
from postprocess import Temporal
from timeline import RowReducer, row_frames

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
        fps = cfgs[g].sample_rate / cfgs[g].hop_length
        whole = (t_start[idx] <= 0) & np.isnan(t_end[idx])  # a row spanning the file
        return RowReducer(*row_frames(t_start[idx], t_end[idx], fps),
                          np.where(whole, cfgs[g].infer_recording, cfgs[g].infer_reduce))

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
    return [Temporal(**c.infer_temporal).apply(s, rows["audio_id"].tolist(), t_start)
            .astype(np.float32) if c.infer_temporal else s
            for c, s in zip(cfgs, scores)]  # each recording's rows as validation treats them


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


def main(argv: list[str] | None = None) -> None:
    def add_arguments(parser):
        parser.add_argument("--also", nargs="+", default=[], metavar="EXP",
                            help="more experiments scored on the same windows in the same pass")
        parser.add_argument("--backend", choices=BACKENDS, default="torch")
        parser.add_argument("--audio-dir", help="read test audio from here instead of the cache")
        parser.add_argument("--out", help="submission path (default submissions/EXP.csv)")

    cfg, args = experiment_cli(__doc__, argv, add_arguments)
    cfgs = [cfg] + [load_config(name, parse_overrides(args.override)) for name in args.also]
    check_shared(cfgs)
    comp = competition_for(cfg)
    device = resolve_device(cfg.device)

    rows = test_rows(cfg, comp, args.audio_dir)
    if cfg.backbone in ("birdnet", "birdnet_head"):  # the optional teacher (teacher.py)
        import teacher

        predictions = [teacher.predict_rows(cfg, comp, rows, *class_prior(comp))]
    else:
        window = RecordingWindows.from_config([], cfg).window
        backend = load_backend(args.backend, cfgs, len(comp.classes), device, window)
        predictions = predict_rows(cfgs, backend, rows, device, *class_prior(comp))
    for c, scores in zip(cfgs, predictions):
        out = Path(args.out if args.out and c is cfg else f"submissions/{c.name}.csv")
        sub = checked_submission(comp, rows["row_id"].tolist(), scores, out)
        write_csv(out, sub)
        save_test(c.name, rows["row_id"].tolist(), comp.classes, scores,
                  rows["audio_id"].tolist(), rows["t_start"].to_numpy())
        print(f"submission: {out} ({len(sub)} rows)")


if __name__ == "__main__":
    main()
