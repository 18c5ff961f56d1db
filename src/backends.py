"""What runs the models at inference: torch eager, ONNX Runtime or OpenVINO, behind one call.

A backend takes a batch of windows (batch, samples) and returns, for each experiment it holds,
the mean over that experiment's fold models of (framewise (batch, frames, classes), clipwise
(batch, classes)) probabilities. Every fold sees the batch while it is in memory, and models
whose fixed log-mel front ends are equal compute it once.

    python src/export.py EXP              # models/EXP/ensemble.onnx, checked against torch
    python src/infer.py EXP --backend onnx
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn as nn

from engine import autocast
from models import build_model
from oof import run_dir

BACKENDS = ("torch", "onnx", "openvino")
Outputs = list[tuple[np.ndarray, np.ndarray]]


def checkpoint_paths(cfg, fold: int | None = None) -> list[Path]:
    """The trained models of an experiment (or of one fold): every fold's, or the full fit's,
    with the members of its seed bag (only the first `seed_bag`: a bag since shrunk leaves
    files that are not part of it). Never the resume states (.last.pt)."""
    name = "full" if cfg.full_fit else (r"fold\d+" if fold is None else f"fold{fold}")
    paths = sorted(p for p in run_dir(cfg).glob("*.pt")
                   if (m := re.fullmatch(rf"({name})(?:_bag(\d+))?\.pt", p.name))
                   and int(m.group(2) or 0) < cfg.seed_bag)
    if not paths:
        raise SystemExit(f"no checkpoints in {run_dir(cfg)}: run `python src/train.py {cfg.name}`")
    return paths


def load_fold_models(cfg, n_classes: int, device: torch.device,
                     fold: int | None = None) -> list[nn.Module]:
    models = []
    for path in checkpoint_paths(cfg, fold):
        member = int(m[1]) if (m := re.search(r"_bag(\d+)\.pt$", path.name)) else 0
        model = build_model(cfg.member(member), n_classes, weights=False)
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=False)["model"])
        models.append(model.to(device).eval())
    print(f"{cfg.name}: {len(models)} {'full-fit' if cfg.full_fit else 'fold'} model(s) from "
          f"{run_dir(cfg)}")
    return models


class Ensemble(nn.Module):
    """Groups of models (the folds of each experiment) behind one forward that returns
    (framewise, clipwise) per group, flattened, each the mean over the group's models.

    Models that declare an equal `front_end_spec` share one evaluation of their fixed STFT +
    mel front end, which on a small CNN costs more than the CNN itself."""

    def __init__(self, groups: Sequence[Sequence[nn.Module]]) -> None:
        super().__init__()
        self.groups = nn.ModuleList(nn.ModuleList(g) for g in groups)

    def forward(self, wave: torch.Tensor) -> tuple[torch.Tensor, ...]:
        front: dict[tuple, torch.Tensor] = {}
        out: list[torch.Tensor] = []
        for group in self.groups:
            frames, clips = [], []
            for model in group:
                spec = getattr(model, "front_end_spec", None)
                if spec is None:
                    o = model(wave)
                else:
                    if spec not in front:
                        front[spec] = model.front_end(wave)
                    o = model.from_front_end(front[spec])
                frames.append(o["framewise_output"].float())
                clips.append(o["clipwise_output"].float())
            out += [torch.stack(frames).mean(0), torch.stack(clips).mean(0)]
        return tuple(out)


def pairs(flat: Sequence[np.ndarray]) -> Outputs:
    return [(np.asarray(flat[i]), np.asarray(flat[i + 1])) for i in range(0, len(flat), 2)]


class TorchBackend:
    """Eager PyTorch under inference_mode, AMP per `amp`, with channels_last weights, which
    the CPU's oneDNN convolutions run several times faster too (docs/figures.md: bench infer).
    `channels_last=False` leaves the models' memory format alone (validation during training,
    whose results must not depend on it)."""

    def __init__(self, groups: Sequence[Sequence[nn.Module]], device: torch.device,
                 amp: str | None = None, channels_last: bool = True) -> None:
        self.net = Ensemble(groups).eval().to(device)
        if channels_last:
            self.net = self.net.to(memory_format=torch.channels_last)
        self.device, self.amp = device, amp

    @torch.inference_mode()
    def __call__(self, waves: torch.Tensor) -> Outputs:
        waves = waves.to(self.device, non_blocking=True)
        with autocast(self.device, self.amp):
            out = self.net(waves)
        return pairs([o.float().cpu().numpy() for o in out])


class OnnxBackend:
    """ONNX Runtime on the CPU, one session per exported experiment."""

    def __init__(self, paths: Sequence[Path], threads: int | None = None) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads or torch.get_num_threads()
        self.sessions = [ort.InferenceSession(str(p), options, providers=["CPUExecutionProvider"])
                         for p in paths]

    def __call__(self, waves: torch.Tensor) -> Outputs:
        x = waves.numpy()
        return [tuple(s.run(["framewise", "clipwise"], {"wave": x})) for s in self.sessions]


class OpenVinoBackend:
    """OpenVINO on the CPU, compiling the exported ONNX files directly."""

    def __init__(self, paths: Sequence[Path], threads: int | None = None) -> None:
        import openvino as ov

        core = ov.Core()
        config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_PRECISION_HINT": "f32",  # not bf16
                  "INFERENCE_NUM_THREADS": threads or torch.get_num_threads()}
        self.models = [core.compile_model(str(p), "CPU", config) for p in paths]

    def __call__(self, waves: torch.Tensor) -> Outputs:
        x = waves.numpy()
        out = []
        for model in self.models:
            result = model(x)
            out.append((result["framewise"], result["clipwise"]))
        return out


def onnx_path(cfg) -> Path:
    return run_dir(cfg) / "ensemble.onnx"


def exported(cfg, window: int) -> Path:
    """The experiment's ONNX file, refused when missing, older than a checkpoint, or traced
    for another window length."""
    import onnx

    path = onnx_path(cfg)
    again = f"run `python src/export.py {cfg.name}`"
    if not path.exists():
        raise SystemExit(f"{path} not found: {again}")
    if any(p.stat().st_mtime > path.stat().st_mtime for p in checkpoint_paths(cfg)):
        raise SystemExit(f"{path} is older than the checkpoints: {again}")
    dims = onnx.load(str(path), load_external_data=False).graph.input[0].type.tensor_type.shape.dim
    if dims[1].dim_value != window:
        raise SystemExit(f"{path} takes windows of {dims[1].dim_value} samples, not {window}: "
                         f"{again}")
    return path


def load_backend(name: str, cfgs: Sequence, n_classes: int, device: torch.device,
                 window: int):
    """The backend `name` holding every fold of every experiment in `cfgs`, for windows of
    `window` samples."""
    if name not in BACKENDS:
        raise SystemExit(f"unknown backend {name!r}; known: {BACKENDS}")
    if name == "torch":
        return TorchBackend([load_fold_models(c, n_classes, device) for c in cfgs], device,
                            cfgs[0].amp)
    if device.type != "cpu":
        raise SystemExit(f"the {name} backend runs on the CPU: set -o device=cpu")
    paths = [exported(c, window) for c in cfgs]
    print(f"{name}: {', '.join(str(p) for p in paths)}")
    return (OnnxBackend if name == "onnx" else OpenVinoBackend)(paths)
