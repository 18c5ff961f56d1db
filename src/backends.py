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
from typing import Sequence, Union

import numpy as np
import torch
import torch.nn as nn

from configs import as_tuples
from engine import autocast
from models import build_model
from weights import match_weights
from oof import run_dir

BACKENDS = ("torch", "onnx", "openvino")
# backbones whose exported graph OpenVINO cannot compile: openvino 2026.4.1 segfaults in
# compile_model on AST's and CLAP's (ONNX Runtime runs both, equal to torch within 1e-4:
# tests/test_hf.py)
OPENVINO_CRASHES = ("hf_ast", "hf_clap")
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


# the fields a trained model's weights depend on: its front end (what its weights expect to
# see) and its architecture; a checkpoint runs only under the values it was trained with
MODEL_FIELDS = ("sample_rate", "n_fft", "hop_length", "mel_bins", "fmin", "fmax", "channels",
                "backbone", "pooling", "freq_pool", "head_hidden")
Classes = Union[int, Sequence[str]]  # the class names a caller wants, or only their count


def read_checkpoint(path: Path) -> dict:
    """A checkpoint of this project (`model` plus `classes`, `config`...), memory-mapped so
    reading only its info costs no copy of the weights."""
    try:
        saved = torch.load(path, map_location="cpu", weights_only=False, mmap=True)
    except Exception as e:  # cut short by a full disk, or not a checkpoint at all
        raise SystemExit(f"{path}: not a checkpoint torch can read ({type(e).__name__}: "
                         f"{str(e).splitlines()[0][:160] if str(e) else ''}); train that "
                         "fold again") from None
    if not isinstance(saved, dict) or not isinstance(saved.get("model"), dict):
        raise SystemExit(f"{path}: not a checkpoint of this project (no `model` weights)")
    return saved


def check_fields(path: Path, trained: dict, cfg) -> None:
    """Stop when this run would feed the checkpoint other features or build it otherwise than
    it was trained: a `-o sample_rate=...` at inference, say, naming both values."""
    differ = []
    for key in MODEL_FIELDS:
        if key not in trained:
            continue
        was, now = as_tuples(trained[key]), as_tuples(getattr(cfg, key))
        if key == "fmax" and (was is None) != (now is None):  # None is half the sample rate
            was = trained.get("sample_rate", cfg.sample_rate) / 2 if was is None else was
            now = cfg.sample_rate / 2 if now is None else now
        if was != now:
            differ.append((key, trained[key], getattr(cfg, key)))
    if differ:
        raise SystemExit(
            f"{path} was trained with {', '.join(f'{k}={a!r}' for k, a, _ in differ)}; this run "
            f"has {', '.join(f'{k}={b!r}' for k, _, b in differ)}: run with the values it was "
            "trained with (drop those -o overrides) or train again")


def check_classes(path: Path, trained: list[str] | None, classes: Classes) -> list[str] | None:
    """The checkpoint's class order, checked against the classes this run scores: the same
    classes in any order pass (the outputs are mapped by name), a class either side lacks
    stops the run naming it."""
    if trained is None:  # a checkpoint from before classes were saved: only the count is known
        return None
    trained = [str(c) for c in trained]
    if isinstance(classes, int):
        if len(trained) != classes:
            raise SystemExit(f"{path} was trained on {len(trained)} classes; this run has "
                             f"{classes}: train again")
        return trained
    new = [c for c in classes if c not in trained]
    gone = [c for c in trained if c not in classes]
    if new or gone:
        raise SystemExit(
            f"{path} was trained on {len(trained)} classes, the competition now has "
            f"{len(classes)}: " + "; ".join(
                f"{what} {names[:8]}{' ...' if len(names) > 8 else ''}" for what, names in
                (("new, never trained:", new), ("trained, no longer listed:", gone)) if names)
            + ": train again on the competition's classes (or restore its sample submission)")
    return trained


def checked_checkpoints(cfg, classes: Classes, fold: int | None = None
                        ) -> list[tuple[Path, dict, object, list[str] | None]]:
    """Each trained model of `cfg` (or of one fold) as (path, saved checkpoint, the member's
    config, its class order), checked against this run: the classes it was trained on and
    the fields its weights depend on (MODEL_FIELDS)."""
    out = []
    for path in checkpoint_paths(cfg, fold):
        member = int(m[1]) if (m := re.search(r"_bag(\d+)\.pt$", path.name)) else 0
        saved, member_cfg = read_checkpoint(path), cfg.member(member)
        if isinstance(saved.get("config"), dict):
            check_fields(path, saved["config"], member_cfg)
        out.append((path, saved, member_cfg, check_classes(path, saved.get("classes"), classes)))
    return out


def experiment_classes(cfg, classes: Sequence[str]) -> list[str]:
    """The class order of an experiment's outputs as export.py writes them: its first
    checkpoint's (every checkpoint checked against this run first)."""
    found = checked_checkpoints(cfg, classes)
    return found[0][3] or list(classes)


class ClassOrder(nn.Module):
    """A trained model whose outputs are put in another class order (the competition's, where
    its sample submission lists the trained classes otherwise), so each score lands under its
    own class's header. Keeps the model's shared front end (`front_end_spec`)."""

    def __init__(self, model: nn.Module, index: Sequence[int]) -> None:
        super().__init__()
        self.model = model
        self.front_end_spec = getattr(model, "front_end_spec", None)
        self.register_buffer("index", torch.as_tensor(list(index), dtype=torch.long),
                             persistent=False)

    def _reorder(self, out: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {k: v.index_select(-1, self.index)
                if k in ("clipwise_output", "framewise_output") else v for k, v in out.items()}

    def front_end(self, wave: torch.Tensor) -> torch.Tensor:
        return self.model.front_end(wave)

    def from_front_end(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return self._reorder(self.model.from_front_end(x))

    def forward(self, wave: torch.Tensor) -> dict[str, torch.Tensor]:
        return self._reorder(self.model(wave))


def load_fold_models(cfg, classes: Classes, device: torch.device,
                     fold: int | None = None) -> list[nn.Module]:
    """The trained models of `cfg` (or of one fold), each checked against this run first
    (checked_checkpoints). Given class names, every model's outputs come in that order
    whatever order it was trained in; given a count, in the order they were trained in,
    which must then be one order for all of them (they are averaged)."""
    models, first = [], None
    for path, saved, member_cfg, trained in checked_checkpoints(cfg, classes, fold):
        n_classes = len(trained) if trained else (classes if isinstance(classes, int)
                                                  else len(classes))
        model = build_model(member_cfg, n_classes, weights=False)
        try:
            model.load_state_dict(saved["model"])
        except RuntimeError:  # a field outside MODEL_FIELDS changed the architecture
            raise SystemExit(f"{path} does not fit the model this run builds: "
                             f"{match_weights(model, saved['model']).report()}; run with the "
                             "config it was trained with (its `config` entry)") from None
        if trained and not isinstance(classes, int) and trained != list(classes):
            model = ClassOrder(model, [trained.index(c) for c in classes])
        elif trained and isinstance(classes, int):
            first = first or (path, trained)
            if trained != first[1]:
                raise SystemExit(f"{path} and {first[0]} list their classes in different "
                                 "orders: their outputs cannot be averaged; train again")
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


def reorder(outputs: Outputs, orders: Sequence[Sequence[int] | None]) -> Outputs:
    """Each experiment's (framewise, clipwise) with its classes put in `orders`' order (None:
    as they are)."""
    return [(f[..., o], c[..., o]) if o is not None else (f, c)
            for (f, c), o in zip(outputs, orders)]


class OnnxBackend:
    """ONNX Runtime on the CPU, one session per exported experiment; `orders` puts each
    file's classes (its checkpoints' order) in the order the caller scores them."""

    def __init__(self, paths: Sequence[Path], threads: int | None = None,
                 orders: Sequence[Sequence[int] | None] | None = None) -> None:
        self.orders = list(orders or [None] * len(paths))
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.intra_op_num_threads = threads or torch.get_num_threads()
        self.sessions = [ort.InferenceSession(str(p), options, providers=["CPUExecutionProvider"])
                         for p in paths]

    def __call__(self, waves: torch.Tensor) -> Outputs:
        x = waves.numpy()
        return reorder([tuple(s.run(["framewise", "clipwise"], {"wave": x}))
                        for s in self.sessions], self.orders)


class OpenVinoBackend:
    """OpenVINO on the CPU, compiling the exported ONNX files directly."""

    def __init__(self, paths: Sequence[Path], threads: int | None = None,
                 orders: Sequence[Sequence[int] | None] | None = None) -> None:
        import openvino as ov

        self.orders = list(orders or [None] * len(paths))
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
        return reorder(out, self.orders)


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


def load_backend(name: str, cfgs: Sequence, classes: Classes, device: torch.device,
                 window: int):
    """The backend `name` holding every fold of every experiment in `cfgs`, for windows of
    `window` samples, its outputs in the order of `classes` (names; a count keeps each
    experiment's trained order). Every checkpoint is checked against its run first."""
    if name not in BACKENDS:
        raise SystemExit(f"unknown backend {name!r}; known: {BACKENDS}")
    if name == "torch":
        return TorchBackend([load_fold_models(c, classes, device) for c in cfgs], device,
                            cfgs[0].amp)
    if device.type != "cpu":
        raise SystemExit(f"the {name} backend runs on the CPU: set -o device=cpu")
    if name == "openvino" and (crash := [c.name for c in cfgs
                                         if c.backbone in OPENVINO_CRASHES]):
        raise SystemExit(f"{', '.join(crash)}: OpenVINO cannot compile this backbone's graph "
                         "(it crashes in compile_model); use --backend onnx")
    orders = []
    for c in cfgs:  # the exported graph lists the classes in its first checkpoint's order
        if isinstance(classes, int):
            checked_checkpoints(c, classes)
            orders.append(None)
        else:
            trained = experiment_classes(c, classes)
            orders.append(None if trained == list(classes)
                          else [trained.index(k) for k in classes])
    paths = [exported(c, window) for c in cfgs]
    print(f"{name}: {', '.join(str(p) for p in paths)}")
    return (OnnxBackend if name == "onnx" else OpenVinoBackend)(paths, orders=orders)
