"""Window outputs stitched onto a recording's frame axis and reduced per submission row, one
stretch at a time, so memory depends on the window and batch sizes, never on the recording.

Frame i of a recording is at time i * hop_length / sample_rate, as frame j of a window that
starts at sample s is at (s + j * hop_length) / sample_rate.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

REDUCTIONS = ("max", "mean")


def check_reduce(reduce: str) -> str:
    if reduce not in REDUCTIONS:
        raise SystemExit(f"infer_reduce and infer_recording must be one of {REDUCTIONS}, "
                         f"not {reduce!r}")
    return reduce


class Timeline:
    """Stitches window outputs (windows, frames, channels) onto one recording's timeline.

    Where windows of one pass overlap, frames are reduced by `reduce` (max or mean); the passes
    of time-shift TTA are then averaged. `flush(upto)` hands over the frames before `upto`,
    which no coming window may touch (windows arrive in order of start), and forgets them.
    """

    def __init__(self, n_channels: int, n_passes: int = 1, reduce: str = "max") -> None:
        self.reduce = check_reduce(reduce)
        self.base = 0  # timeline frame of the buffer's first row
        self.value = np.zeros((n_passes, 0, n_channels), dtype=np.float32)
        self.count = np.zeros((n_passes, 0), dtype=np.int32)

    def add(self, outputs: np.ndarray, offsets: np.ndarray, passes: np.ndarray) -> None:
        """`outputs[k]` starts at timeline frame `offsets[k]` (frames before 0 are dropped)."""
        if not len(outputs):
            return
        end = int(offsets.max()) + outputs.shape[1] - self.base
        if end > self.value.shape[1]:
            grow = end - self.value.shape[1]
            self.value = np.pad(self.value, ((0, 0), (0, grow), (0, 0)))
            self.count = np.pad(self.count, ((0, 0), (0, grow)))
        for out, offset, p in zip(outputs, offsets, passes):
            skip = max(0, self.base - int(offset))
            lo = int(offset) + skip - self.base
            hi = lo + len(out) - skip
            if hi <= lo:
                continue
            target = self.value[p, lo:hi]
            if self.reduce == "max":
                np.maximum(target, out[skip:], out=target)  # outputs are probabilities >= 0
            else:
                target += out[skip:]
            self.count[p, lo:hi] += 1

    def flush(self, upto: int | None = None) -> tuple[int, np.ndarray]:
        """`(first frame, frames)`: the final values of frames [base, upto) (None: all held)."""
        n = self.value.shape[1] if upto is None else max(0, min(upto - self.base, self.value.shape[1]))
        value, count = self.value[:, :n], self.count[:, :n]
        if self.reduce == "mean":
            value = value / np.maximum(count, 1)[..., None]
        covered = count > 0
        out = (value * covered[..., None]).sum(0) / np.maximum(covered.sum(0), 1)[:, None]
        first = self.base
        self.value, self.count = self.value[:, n:], self.count[:, n:]
        self.base += n
        return first, out.astype(np.float32, copy=False)


def row_frames(t_start: np.ndarray, t_end: np.ndarray, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Frame range [lo, hi) of each row's [t_start, t_end) seconds (t_end NaN: to the end)."""
    lo = np.array([math.ceil(a * fps - 1e-6) for a in t_start], dtype=np.int64)
    hi = np.array([np.iinfo(np.int64).max if np.isnan(b) else math.ceil(b * fps - 1e-6)
                   for b in t_end], dtype=np.int64)
    return lo, hi


class RowReducer:
    """Per-row max or mean of each channel over the frames inside the row's span, fed by
    consecutive stretches of the timeline; `reduce` is one for all rows or one per row. A row
    no frame falls in (past the end of the audio) scores 0."""

    def __init__(self, lo: np.ndarray, hi: np.ndarray,
                 reduce: str | Sequence[str] = "max") -> None:
        reduce = [reduce] * len(lo) if isinstance(reduce, str) else list(reduce)
        self.mean = np.array([check_reduce(r) == "mean" for r in reduce], dtype=bool)
        self.lo, self.hi = lo, hi
        self.acc = np.zeros((len(lo), 0))  # sized by the first stretch's channels
        self.count = np.zeros(len(lo), dtype=np.int64)

    def add(self, first: int, frames: np.ndarray) -> None:
        if self.acc.shape[1] != frames.shape[1]:
            self.acc = np.zeros((len(self.lo), frames.shape[1]))
        last = first + len(frames)
        for r in np.flatnonzero((self.lo < last) & (self.hi > first)):
            part = frames[max(self.lo[r], first) - first:min(self.hi[r], last) - first]
            if self.mean[r]:
                self.acc[r] += part.sum(axis=0)
            else:
                np.maximum(self.acc[r], part.max(axis=0), out=self.acc[r])
            self.count[r] += len(part)

    def result(self) -> np.ndarray:
        scale = np.where(self.mean, 1.0 / np.maximum(self.count, 1), 1.0)
        return (self.acc * scale[:, None]).astype(np.float32)
