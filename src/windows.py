"""Inference windows: every recording cut into fixed windows, decoded by loader workers."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Iterator, Sequence

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from audio import AudioError, stream_wave


def cut_windows(pieces: Iterable[np.ndarray], window: int, hop: int,
                shifts: Sequence[int] = ()) -> Iterator[tuple[int, int, np.ndarray]]:
    """`(pass, start sample, window)` for every window of one recording read piece by piece,
    in order of start; it returns the recording's length in samples.

    Pass 0 starts at 0; pass p + 1 (time-shift TTA) starts `shifts[p]` samples earlier, so its
    windows straddle pass 0's boundaries. A pass ends with the first window that reaches the
    end of the audio; samples outside the audio are zeros, and an empty recording still gives
    one window per pass. Only the samples that a coming window needs are kept.
    """
    starts = [0] + [-int(s) for s in shifts]
    done = [False] * len(starts)
    pieces = iter(pieces)
    buf, buf_start, n = np.zeros(0, dtype=np.float32), 0, None
    while not all(done):
        p = min((s, p) for p, s in enumerate(starts) if not done[p])[1]
        start = starts[p]
        while n is None and buf_start + len(buf) <= start + window:  # one sample more tells
            piece = next(pieces, None)  # whether this window ends the audio
            if piece is None:
                n = buf_start + len(buf)
            else:
                buf = np.concatenate([buf, piece])
        out = np.zeros(window, dtype=np.float32)
        lo, hi = max(start, buf_start), min(start + window, buf_start + len(buf))
        if hi > lo:
            out[lo - start:hi - start] = buf[lo - buf_start:hi - buf_start]
        yield p, start, out
        starts[p] += hop
        done[p] = n is not None and start + window >= n
        keep = min((s for q, s in enumerate(starts) if not done[q]), default=buf_start)
        drop = min(max(0, keep - buf_start), len(buf))  # never past what was read
        buf, buf_start = buf[drop:], buf_start + drop
    return n


@dataclass
class WindowBatch:
    """Up to `batch_size` windows, possibly of several recordings, with where each came from;
    `ends` lists `(recording, samples)` for the recordings whose last window is in this batch
    or an earlier one, `failed` `(recording, reason)` for those that could not be read (any of
    their windows already sent are to be discarded)."""

    waves: torch.Tensor  # (windows, samples)
    recordings: np.ndarray  # recording index of each window
    starts: np.ndarray  # start sample of each window on its recording (negative: shifted pass)
    passes: np.ndarray  # 0, or the time-shift pass
    ends: list[tuple[int, int]]
    failed: list[tuple[int, str]] = field(default_factory=list)

    def pin_memory(self) -> "WindowBatch":
        self.waves = self.waves.pin_memory()
        return self


class RecordingWindows(IterableDataset):
    """Every window of `duration` s, `hop` s apart (and of the shifted passes), of a list of
    recordings, streamed as `WindowBatch`es of `batch_size` windows.

    Each loader worker decodes and resamples its own share of the recordings, piece by piece,
    so the main process only runs models, and memory does not grow with a recording's length.
    Windows of consecutive recordings share batches: short files still fill them.
    """

    def __init__(self, paths: Sequence[str], sample_rate: int, duration: float,
                 hop: float | None = None, shifts: Sequence[float] = (),
                 batch_size: int = 32) -> None:
        self.paths = list(paths)
        self.sr = sample_rate
        self.window = int(round(duration * sample_rate))
        self.hop = int(round((hop or duration) * sample_rate))
        self.shifts = [int(round(s * sample_rate)) for s in shifts]
        self.batch_size = batch_size

    @classmethod
    def from_config(cls, paths: Sequence[str], cfg) -> "RecordingWindows":
        return cls(paths, cfg.sample_rate, cfg.infer_duration or cfg.duration, cfg.infer_hop,
                   cfg.infer_tta_shifts, cfg.infer_batch_size)

    def recording(self, index: int) -> Iterator[tuple[int, int, np.ndarray]]:
        return cut_windows(stream_wave(self.paths[index], self.sr), self.window, self.hop,
                           self.shifts)

    def __iter__(self) -> Iterator[WindowBatch]:
        worker = get_worker_info()
        mine = range(len(self.paths))
        if worker is not None:
            mine = mine[worker.id::worker.num_workers]
        waves = np.zeros((self.batch_size, self.window), dtype=np.float32)
        meta: list[tuple[int, int, int]] = []
        ends: list[tuple[int, int]] = []
        failed: list[tuple[int, str]] = []

        def batch() -> WindowBatch:
            rec, start, passes = np.array(meta, dtype=np.int64).reshape(-1, 3).T.copy()
            return WindowBatch(torch.from_numpy(waves[:len(meta)].copy()), rec, start, passes,
                               list(ends), list(failed))

        for index in mine:
            windows = self.recording(index)
            while True:
                try:
                    p, start, wave = next(windows)
                except StopIteration as stop:
                    ends.append((index, stop.value))
                    break
                except Exception as e:  # noqa: BLE001 - one unreadable file must not stop the rest
                    failed.append((index, str(e) if isinstance(e, AudioError)
                                   else f"{type(e).__name__}: {e}"))
                    break
                if len(meta) == self.batch_size:  # sent when full and a window follows, so
                    yield batch()  # a recording's end rides with its last windows
                    meta, ends, failed = [], [], []
                waves[len(meta)] = wave
                meta.append((index, start, p))
        if meta or ends or failed:
            yield batch()
