"""Predict the test set with every trained fold and write the submission.

    python src/infer.py EXP [--audio-dir DIR] [--out PATH] [-o field=value ...]

Each recording is cut into windows, every fold model scores each batch of windows, the
framewise outputs are stitched onto the recording's timeline, each submission row takes the
max inside its time span, and the folds are averaged.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch

from atomic import write_csv
from competitions import competition_for
from configs import experiment_cli
from datasets import RecordingWindows, cached_path
from engine import predict_timelines, resolve_device, rows_max
from models import build_model
from oof import run_dir, save_test


def load_fold_models(cfg, n_classes: int, device: torch.device) -> list[torch.nn.Module]:
    pattern = r"full\.pt" if cfg.full_fit else r"fold\d+\.pt"  # not the resume states
    paths = sorted(p for p in run_dir(cfg).glob("*.pt") if re.fullmatch(pattern, p.name))
    if not paths:
        raise SystemExit(f"no checkpoints in {run_dir(cfg)}: run `python src/train.py {cfg.name}`")
    models = []
    for path in paths:
        model = build_model(cfg, n_classes, weights=False)
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=False)["model"])
        models.append(model.to(device))
    print(f"{cfg.name}: {len(models)} {'full-fit' if cfg.full_fit else 'fold'} model(s) from "
          f"{run_dir(cfg)}")
    return models


def predict_rows(cfg, comp, models, rows, device) -> np.ndarray:
    """(rows, classes) scores averaged over the models."""
    audio = rows.drop_duplicates("audio_id")[["audio_id", "path"]].reset_index(drop=True)
    windows = RecordingWindows(audio["path"].tolist(), cfg.sample_rate, cfg.duration, cfg.infer_hop)
    row_index = {a: np.flatnonzero(rows["audio_id"].to_numpy() == a) for a in audio["audio_id"]}
    scores = np.zeros((len(rows), len(comp.classes)), dtype=np.float32)
    fps = cfg.sample_rate / cfg.hop_length
    for i, timelines in predict_timelines(models, windows, cfg, device, "infer"):
        idx = row_index[audio["audio_id"][i]]
        t0, t1 = rows["t_start"].to_numpy()[idx], rows["t_end"].to_numpy()[idx]
        scores[idx] = np.mean([rows_max(t, fps, t0, t1) for t in timelines], axis=0)
    return scores


def main(argv: list[str] | None = None) -> None:
    def add_arguments(parser):
        parser.add_argument("--audio-dir", help="read test audio from here instead of the cache")
        parser.add_argument("--out", help="submission path (default submissions/EXP.csv)")

    cfg, args = experiment_cli(__doc__, argv, add_arguments)
    comp = competition_for(cfg)
    device = resolve_device(cfg.device)

    rows = comp.test_rows(args.audio_dir).reset_index(drop=True)
    if not args.audio_dir:  # the cache prepare.py made, where it has the file
        cached = [cached_path(cfg, "test", a) for a in rows["audio_id"]]
        rows["path"] = [str(c) if c.exists() else p for c, p in zip(cached, rows["path"])]
    if cfg.backbone in ("birdnet", "birdnet_head"):  # the optional teacher (teacher.py)
        import teacher

        scores = teacher.predict_rows(cfg, comp, rows)
    else:
        models = load_fold_models(cfg, len(comp.classes), device)
        scores = predict_rows(cfg, comp, models, rows, device)

    sub = comp.make_submission(rows["row_id"].tolist(), scores)
    out = Path(args.out or f"submissions/{cfg.name}.csv")
    write_csv(out, sub)
    save_test(cfg.name, rows["row_id"].tolist(), comp.classes, scores, rows["audio_id"].tolist(),
              rows["t_start"].to_numpy())
    print(f"submission: {out} ({len(sub)} rows)")


if __name__ == "__main__":
    main()
