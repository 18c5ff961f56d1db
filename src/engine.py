"""Sliding-window prediction shared by validation (train.py) and infer.py, and run helpers."""
from __future__ import annotations

import math
import os
import random
from typing import Iterator

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from atomic import atomic_path


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def autocast(device: torch.device, amp: str | None):
    """Mixed precision by name: "fp16" (CUDA only; a no-op elsewhere), "bf16", or None."""
    if amp not in (None, "fp16", "bf16"):
        raise SystemExit(f"amp must be fp16, bf16 or None, not {amp!r}")
    enabled = amp == "bf16" or (amp == "fp16" and device.type == "cuda")
    dtype = torch.bfloat16 if amp == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype, enabled=enabled)


def stitch(frames: np.ndarray, offsets: np.ndarray, n_frames: int) -> np.ndarray:
    """Window outputs (windows, frames, classes) placed at their frame offsets on one timeline
    of `n_frames`, overlaps reduced by max."""
    timeline = np.zeros((n_frames, frames.shape[2]), dtype=np.float32)
    for window, start in zip(frames, offsets):
        stop = min(n_frames, start + len(window))
        if stop > start:
            np.maximum(timeline[start:stop], window[:stop - start], out=timeline[start:stop])
    return timeline


@torch.inference_mode()
def predict_timelines(models: list[nn.Module], windows: Dataset, cfg, device: torch.device,
                      desc: str = "predict") -> Iterator[tuple[int, list[np.ndarray]]]:
    """For each recording of `windows` (a RecordingWindows), its framewise probabilities on the
    recording's timeline, one (frames, classes) array per model.

    Every model sees each batch of windows while it is in memory; recordings are decoded by
    loader workers while the models run.
    """
    for model in models:
        model.eval()
    loader = DataLoader(windows, batch_size=None, shuffle=False, num_workers=cfg.num_workers,
                        pin_memory=device.type == "cuda", generator=torch.Generator())
    hop, frame_hop = windows.hop, cfg.hop_length
    for batch, n_samples, index in tqdm(loader, desc=desc, leave=False, dynamic_ncols=True):
        n_frames = int(n_samples) // frame_hop + 1
        offsets = np.arange(len(batch)) * hop // frame_hop
        outputs = [[] for _ in models]
        for chunk in batch.split(cfg.batch_size * 2):
            chunk = chunk.to(device, non_blocking=True)
            with autocast(device, cfg.amp):
                for out, model in zip(outputs, models):
                    out.append(model(chunk)["framewise_output"].float().cpu().numpy())
        yield int(index), [stitch(np.concatenate(out), offsets, n_frames) for out in outputs]


def rows_max(timeline: np.ndarray, fps: float, t_start: np.ndarray,
             t_end: np.ndarray) -> np.ndarray:
    """Max score per class inside each [t_start, t_end) interval (t_end NaN = to the end).

    Frame i covers time i / fps. A row beyond the end of the audio scores 0.
    """
    out = np.zeros((len(t_start), timeline.shape[1]), dtype=np.float32)
    for r, (a, b) in enumerate(zip(t_start, t_end)):
        lo = int(math.ceil(a * fps - 1e-6))
        hi = len(timeline) if np.isnan(b) else min(len(timeline), int(math.ceil(b * fps - 1e-6)))
        if hi > lo:
            out[r] = timeline[lo:hi].max(axis=0)
    return out


def save_checkpoint(path, model: nn.Module, **info) -> None:
    with atomic_path(path) as tmp:
        torch.save({"model": model.state_dict(), **info}, tmp)
