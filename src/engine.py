"""Streaming window prediction shared by validation (train.py) and infer.py, and run helpers."""
from __future__ import annotations

import os
import random
from typing import Callable, Iterator, Sequence

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader
from tqdm import tqdm

from atomic import atomic_path
from audio import AudioError
from timeline import Timeline


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)


def resolve_device(name: str) -> torch.device:
    """The config's `device` as a torch.device: "auto" picks CUDA when there is a GPU. A device
    this machine lacks stops the run here with one line, not with a traceback at the first
    tensor moved to it."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError as e:
        raise SystemExit(f"device={name!r} is no torch device ({str(e).splitlines()[0]}); "
                         "use cpu, cuda, cuda:N or auto") from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if (device.index or 0) >= count:
            raise SystemExit(
                f"device={name!r} but torch sees {f'only {count}' if count else 'no'} CUDA "
                f"GPU(s) (torch {torch.__version__}, built for CUDA "
                f"{torch.version.cuda or 'none'}); run with -o device=cpu, or device=auto to use "
                "a GPU only when there is one")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise SystemExit(f"device={name!r} but this torch has no usable MPS (Apple GPU); run "
                         "with -o device=cpu or device=auto")
    return device


def autocast(device: torch.device, amp: str | None):
    """Mixed precision by name: "fp16" (CUDA only; a no-op elsewhere), "bf16", or None."""
    if amp not in (None, "fp16", "bf16"):
        raise SystemExit(f"amp must be fp16, bf16 or None, not {amp!r}")
    enabled = amp == "bf16" or (amp == "fp16" and device.type == "cuda")
    dtype = torch.bfloat16 if amp == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype, enabled=enabled)


class Collect:
    """A sink that keeps the whole timeline (validation, plots)."""

    def __init__(self) -> None:
        self.parts: list[np.ndarray] = []

    def add(self, first: int, frames: np.ndarray) -> None:
        self.parts.append(frames)

    def result(self) -> np.ndarray:
        return np.concatenate(self.parts)


def window_loader(windows, num_workers: int, device: torch.device) -> DataLoader:
    """Loader workers decode and resample recordings while the main process runs models."""
    workers = min(num_workers, len(windows.paths))
    return DataLoader(windows, batch_size=None, num_workers=workers,
                      pin_memory=device.type == "cuda", prefetch_factor=2 if workers else None,
                      generator=torch.Generator())  # keeps torch's global RNG untouched


def predict_stream(backend: Callable, windows, cfgs: Sequence, make_sink: Callable,
                   device: torch.device, desc: str = "predict", with_clip: bool = False,
                   on_failure: Callable[[int, str], None] | None = None
                   ) -> Iterator[tuple[int, list]]:
    """For each recording of `windows` (a RecordingWindows), as soon as its last window has
    run: `(index, [sink.result() for each group])`.

    `backend(waves)` gives (framewise, clipwise) per group (an experiment's fold mean); group
    g's outputs are stitched onto its recording's timeline at `cfgs[g].hop_length` samples a
    frame, reduced where windows overlap by `cfgs[g].infer_reduce`, and handed stretch by
    stretch to `make_sink(index, g)` (`.add(first_frame, frames)`, `.result()`). With
    `with_clip`, each window's clipwise output follows its framewise output as channels
    C..2C-1 over the window's frames.

    A window owns the frames whose time lies inside it: the model's last frame, centred on
    the window's end, is the next window's first, so a clip score never leaks into the next
    row, and a recording of n samples has ceil(n / hop_length) frames.

    A recording that cannot be read is passed to `on_failure(index, reason)` and not yielded;
    without `on_failure` it stops the run with an AudioError naming the file.
    """
    n_passes = 1 + len(windows.shifts)
    open_: dict[int, list] = {}
    for batch in tqdm(window_loader(windows, cfgs[0].num_workers, device), desc=desc,
                      leave=False, dynamic_ncols=True):
        outputs = backend(batch.waves) if len(batch.waves) else []
        for r in dict.fromkeys(batch.recordings.tolist()):
            sel = batch.recordings == r
            if r not in open_:
                open_[r] = [(Timeline(2 * clip.shape[1] if with_clip else clip.shape[1],
                                      n_passes, cfg.infer_reduce), make_sink(r, g))
                            for g, ((_, clip), cfg) in enumerate(zip(outputs, cfgs))]
            for (timeline, sink), (frame, clip), cfg in zip(open_[r], outputs, cfgs):
                hop = cfg.hop_length
                x = frame[sel, :-(-windows.window // hop)]  # frames inside the window
                if with_clip:
                    x = np.concatenate([x, np.broadcast_to(clip[sel][:, None], x.shape)], axis=2)
                offsets = (batch.starts[sel] + hop // 2) // hop
                timeline.add(x, offsets, batch.passes[sel])
                sink.add(*timeline.flush(int(offsets[-1])))  # later windows start after it
        for r, reason in batch.failed:
            open_.pop(r, None)  # windows read before the failure are discarded
            if on_failure is None:
                raise AudioError(f"{windows.paths[r]}: {reason}")
            on_failure(r, reason)
        for r, n_samples in batch.ends:
            states = open_.pop(r)
            for (timeline, sink), cfg in zip(states, cfgs):
                sink.add(*timeline.flush(-(-n_samples // cfg.hop_length)))
            yield r, [sink.result() for _, sink in states]


def save_checkpoint(path, model: nn.Module, **info) -> None:
    """A model and what describes it, written whole or not at all; a full disk stops the run
    with atomic.DiskError's one line (torch alone reports it as "unexpected pos")."""
    with atomic_path(path) as tmp:
        torch.save({"model": model.state_dict(), **info}, tmp)
