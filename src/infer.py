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

from pathlib import Path

from atomic import run_script, write_csv
from backends import BACKENDS, load_backend
from competitions import checked_submission, competition_for
from configs import experiment_cli, load_config, parse_overrides
from engine import resolve_device
from inference import check_shared, class_prior, predict_rows, test_rows
from oof import save_test
from teacher import ROW_PREDICTORS
from windows import RecordingWindows


def model_rows(cfgs, comp, rows, device, backend: str, fallback, fallback_name) -> list:
    """Each experiment's test rows scored by its trained fold models through `backend`, in
    the competition's class order: each checkpoint is checked against this run's config and
    the competition's classes, and its outputs mapped to them by name."""
    window = RecordingWindows.from_config([], cfgs[0]).window
    models = load_backend(backend, cfgs, comp.classes, device, window)
    return predict_rows(cfgs, models, rows, device, fallback, fallback_name)


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
    if cfg.backbone in ROW_PREDICTORS:  # a teacher scores its own rows (teacher.py)
        predictions = [ROW_PREDICTORS[cfg.backbone](cfg, comp, rows, *class_prior(comp))]
    else:
        predictions = model_rows(cfgs, comp, rows, device, args.backend, *class_prior(comp))
    for c, scores in zip(cfgs, predictions):
        out = Path(args.out if args.out and c is cfg else f"submissions/{c.name}.csv")
        sub = checked_submission(comp, rows["row_id"].tolist(), scores, out)
        write_csv(out, sub)
        save_test(c.name, rows["row_id"].tolist(), comp.classes, scores,
                  rows["audio_id"].tolist(), rows["t_start"].to_numpy())
        print(f"submission: {out} ({len(sub)} rows)")


if __name__ == "__main__":
    run_script(main)
