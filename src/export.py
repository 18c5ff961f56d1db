"""Export an experiment's fold models to one ONNX file, checked against torch.

    python src/export.py EXP [--check-batches N] [-o field=value ...]

`models/EXP/ensemble.onnx` maps `wave` (batch, samples of one inference window) to `framewise`
(batch, frames, classes) and `clipwise` (batch, classes), each the mean over the folds, with the
log-mel front end (torchlibrosa's STFT as a convolution, computed once for all folds) inside
the graph. It is written only when ONNX Runtime, and OpenVINO where it is installed, give
torch's outputs within 1e-4 on batches of real test windows; `infer.py --backend onnx` (or
`openvino`, which compiles the same file) then uses it.
"""
from __future__ import annotations

import importlib.util
import itertools
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch

from atomic import atomic_path, disk_refusal, run_script
from backends import (OPENVINO_CRASHES, Ensemble, OnnxBackend, OpenVinoBackend, TorchBackend,
                      experiment_classes, load_fold_models, onnx_path)
from competitions import competition_for
from configs import experiment_cli
from windows import RecordingWindows
from inference import test_rows

TOLERANCE = 1e-4


def export_onnx(net: torch.nn.Module, example: torch.Tensor, path: Path) -> None:
    """Trace `net` (wave -> framewise, clipwise) to ONNX for windows of `example`'s length,
    any batch size."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(net.eval(), (example,), dynamo=True, verbose=False,
                                    input_names=["wave"], output_names=["framewise", "clipwise"],
                                    dynamic_shapes=({0: torch.export.Dim("batch")},))
    with atomic_path(path) as tmp:  # a killed export leaves no half file for infer to load
        program.save(str(tmp))


def max_difference(reference, other) -> float:
    return max(float(np.abs(a - b).max()) for ra, oa in zip(reference, other)
               for a, b in zip(ra, oa))


def check(path: Path, torch_backend: TorchBackend, batches: list[torch.Tensor],
          openvino: bool = True) -> dict[str, float]:
    """Largest absolute output difference of each installed CPU backend from torch."""
    others = {"onnx": OnnxBackend}
    if openvino and importlib.util.find_spec("openvino") is not None:
        others["openvino"] = OpenVinoBackend
    diffs = {}
    for name, cls in others.items():
        backend = cls([path])
        diffs[name] = max(max_difference(torch_backend(b), backend(b)) for b in batches)
    return diffs


def main(argv: list[str] | None = None) -> None:
    def add_arguments(parser):
        parser.add_argument("--check-batches", type=int, default=2,
                            help="batches of test windows the backends must agree on")

    cfg, args = experiment_cli(__doc__, argv, add_arguments)
    comp = competition_for(cfg)
    device = torch.device("cpu")
    # checked against this run and the competition's classes; the graph keeps the first
    # checkpoint's class order, which infer.py maps to the competition's by name
    models = load_fold_models(cfg, experiment_classes(cfg, comp.classes), device)
    torch_backend = TorchBackend([models], device)
    rows = test_rows(cfg, comp)
    windows = RecordingWindows.from_config(rows.drop_duplicates("audio_id")["path"].tolist(), cfg)
    batches = [b.waves for b in itertools.islice(windows, args.check_batches) if len(b.waves)]
    batches.append(batches[0][:3])  # a batch size other than the traced one

    out = onnx_path(cfg)
    try:
        with tempfile.TemporaryDirectory(dir=out.parent) as tmp_dir:  # renamed when it passes
            tmp = Path(tmp_dir) / out.name  # OpenVINO picks its reader by the suffix
            export_onnx(Ensemble([models]), batches[0], tmp)
            openvino = cfg.backbone not in OPENVINO_CRASHES
            if not openvino:
                print(f"{cfg.backbone}: OpenVINO not checked (it crashes compiling this graph); "
                      "infer.py --backend onnx runs it")
            diffs = check(tmp, torch_backend, batches, openvino)
            report = " ".join(f"{k}_max_abs_diff={v:.2e}" for k, v in diffs.items())
            if max(diffs.values()) > TOLERANCE:
                raise SystemExit(f"exported model differs from torch beyond {TOLERANCE}: "
                                 f"{report}")
            os.replace(tmp, out)
    except OSError as e:  # a full disk or a read-only models/ folder: one line, not a traceback
        if refusal := disk_refusal(out.parent, e):
            raise refusal from None
        raise
    print(f"{out}: {len(models)} fold(s), {out.stat().st_size / 2**20:.1f} MiB; {report}")


if __name__ == "__main__":
    run_script(main)
