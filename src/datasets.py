"""Training crops read from the resampled int16 cache, and the sampler that deals them.

One `SedDataset` serves strong and weak labels: a weak label is an event spanning the whole
recording, so "crop around a random event" becomes "crop anywhere" without a second code path.
"""
from __future__ import annotations

import random

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset, Sampler

from audio import open_cached, to_float
from recordings import is_unlabeled

QUIET_CANDIDATES = 8  # crops a quiet negative is the quietest of
QUIET_MIN_CROPS = 3  # a recording lends quiet negatives only if it is this many crops long


def choose_crop(n_samples: int, crop: int, start: int, end: int,
                rng: np.random.Generator) -> int:
    """A crop start that holds the whole event [start, end) when it fits in `crop`, or lies
    inside it when it does not; kept within the recording."""
    if end - start <= crop:
        lo, hi = end - crop, start
    else:
        lo, hi = start, end - crop
    last = max(0, n_samples - crop)
    lo, hi = min(max(lo, 0), last), min(max(hi, 0), last)
    return int(rng.integers(lo, max(lo, hi) + 1))


def activity_envelope(ints: np.ndarray, hop: int, block: int = 1 << 20) -> np.ndarray:
    """Energy of the first difference of the wave per `hop` samples: a cheap high-pass (gain
    0.06 at 300 Hz, 0.6 at 3 kHz at 32 kHz), so calls count and wind and rumble hardly do.
    Read in blocks, so an hour-long recording never becomes one float array."""
    n_frames = max(1, -(-len(ints) // hop))
    out = np.zeros(n_frames, dtype=np.float64)
    for a in range(0, len(ints), block):
        piece = to_float(ints[max(0, a - 1):a + block])
        diff = np.diff(piece) if a else np.diff(piece, prepend=piece[:1])
        energy = np.bincount((a + np.arange(len(diff))) // hop, weights=diff ** 2,
                             minlength=n_frames)
        out += energy[:n_frames]
    return out


class SedDataset(Dataset):
    """Crops of `duration` s, each around a randomly chosen event of its recording, with:

    - `target`: every class with an event overlapping the crop by more than `min_overlap` s
      (smoothed towards 0/1 by `label_smoothing`);
    - `weight`: 1 per class, except secondary labels (weak "maybe present" labels): 0 when
      `secondary_label` is None (out of the loss), else their target is `secondary_label`;
    - `frame_target`: (frames, classes), 1 where an event covers the frame (strong labels).

    With `crop_pick` k > 1, k candidate crops are drawn and the loudest (high-passed energy)
    kept: in a long weakly labelled recording, a crop that likely holds a call. `teacher` gives
    per recording a pretrained model's window starts and per-window class probabilities: each
    item then carries `teacher`, its soft labels for the crop, and with `pick_by="teacher"`
    the candidate where the teacher hears the recording's labels best is kept.

    An item is `(recording, draw)`, as EpochSampler yields them, with a draw number unique over
    the run: the crop's randomness comes from (seed, draw), never from the worker process, so a
    run gives the same batches whatever `num_workers` is, and a resumed run the same as an
    uninterrupted one.
    """

    def __init__(self, recordings: pd.DataFrame, events: pd.DataFrame, n_classes: int,
                 sample_rate: int, duration: float, hop_length: int, *, min_overlap: float = 0.0,
                 augment=None, seed: int = 0, label_smoothing: float = 0.0,
                 secondary_label: float | None = None, crop_pick: int = 1,
                 teacher: list[tuple[np.ndarray, np.ndarray, np.ndarray | None]] | None = None,
                 window: float = 3.0, pick_by: str = "energy", quiet_share: float = 0.0) -> None:
        self.paths = recordings["cache_path"].tolist()
        if "negative" not in events:
            events = events.assign(negative=False)
        columns = ["cls", "t_min", "t_max", "negative"]
        by_id = {rid: g[columns].to_numpy(np.float64) for rid, g in events.groupby("id")}
        unlabeled = is_unlabeled(recordings)
        self.unlabeled = unlabeled  # only the teacher's soft labels train on these
        self.events = [np.zeros((0, 4)) if u else by_id.get(rid, np.zeros((0, 4)))
                       for rid, u in zip(recordings["id"], unlabeled)]
        secondary = recordings["secondary"] if "secondary" in recordings else [[]] * len(self.paths)
        self.secondary = [np.asarray(s, dtype=int) for s in secondary]
        self.n_classes = n_classes
        self.sr = sample_rate
        self.crop = int(round(duration * sample_rate))
        self.hop = hop_length
        self.min_overlap = min_overlap
        self.augment = augment
        self.seed = seed
        self.label_smoothing = label_smoothing
        self.secondary_label = secondary_label
        self.crop_pick = crop_pick
        self.teacher, self.window = teacher, window
        if pick_by not in ("energy", "teacher") or (pick_by == "teacher" and teacher is None):
            raise SystemExit(f"crop_pick_by {pick_by!r}: energy, or teacher (with its labels)")
        self.pick_by = pick_by
        self.quiet_share = quiet_share
        self.labels = [np.asarray(x, dtype=int) for x in recordings["labels"]]
        self.envelope_hop = max(1, sample_rate // 10)
        self._envelopes: dict[int, np.ndarray] = {}

    @classmethod
    def from_config(cls, cfg, recordings: pd.DataFrame, events: pd.DataFrame, n_classes: int,
                    seed: int, augment=None, teacher: tuple | None = None) -> "SedDataset":
        """The training crops of an experiment; `teacher` = (soft labels per recording, seconds
        per window), as teacher.crop_labels gives them."""
        labels, window = teacher if teacher is not None else (None, 0.0)
        return cls(recordings, events, n_classes, cfg.sample_rate, cfg.duration, cfg.hop_length,
                   min_overlap=cfg.min_event_overlap, augment=augment, seed=seed,
                   label_smoothing=cfg.label_smoothing, secondary_label=cfg.secondary_label,
                   crop_pick=cfg.crop_pick, teacher=labels, window=window,
                   pick_by=cfg.crop_pick_by, quiet_share=cfg.quiet_negatives)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, item) -> dict[str, torch.Tensor]:
        rec, draw = item if isinstance(item, tuple) else (item, item)
        rng = np.random.default_rng([self.seed, draw])
        ints = open_cached(self.paths[rec])
        quiet = self.quiet(rec, len(ints), rng)
        events = self.events[rec][:0] if quiet else self.events[rec]
        if len(events):
            _, t0, t1, _ = events[rng.integers(len(events))]  # a call or a known absence
            span = int(t0 * self.sr), int(min(t1, len(ints) / self.sr) * self.sr)
        else:
            span = 0, len(ints)
        picks = QUIET_CANDIDATES if quiet else self.crop_pick
        starts = [choose_crop(len(ints), self.crop, *span, rng) for _ in range(picks)]
        if quiet:
            start = starts[int(np.argmin(self.energies(rec, ints, starts)))]
        elif len(starts) == 1:
            start = starts[0]
        elif self.pick_by == "teacher":  # where the teacher hears the recording's species
            heard = self.labels[rec] if len(self.labels[rec]) else slice(None)  # any species
            start = starts[int(np.argmax([self.teacher_view(rec, a / self.sr)[heard]
                                          .max(initial=0.0) for a in starts]))]
        else:
            start = starts[int(np.argmax(self.energies(rec, ints, starts)))]
        wave = np.zeros(self.crop, dtype=np.float32)
        piece = to_float(ints[start:start + self.crop])
        wave[:len(piece)] = piece
        if self.augment is not None:
            # audiomentations draws from the global generators: seed them per item
            item_seed = int(rng.integers(2**31))
            random.seed(item_seed)
            np.random.seed(item_seed)
            wave = self.augment(wave, self.sr)
        target, weight, frame_target = self.targets(rec, start / self.sr, absent=quiet)
        if self.unlabeled[rec]:
            weight[:] = 0.0  # no label says what is absent either
        item = {"wave": torch.from_numpy(wave), "target": torch.from_numpy(target),
                "weight": torch.from_numpy(weight), "frame_target": torch.from_numpy(frame_target)}
        if self.teacher is not None:
            item["teacher"] = torch.from_numpy(self.teacher_view(rec, start / self.sr))
            # pseudo-labels cover the unlabeled recordings only: a labelled one's crop has no
            # soft labels, and its zeros must not teach "nothing here"
            item["teacher_weight"] = torch.tensor(float(len(self.teacher[rec][0]) > 0))
            embeddings = self.teacher[rec][2]
            if embeddings is not None:  # what the teacher's embedding says of the crop
                inside = self.teacher_windows(rec, start / self.sr)
                item["teacher_embedding"] = torch.from_numpy(
                    embeddings[inside].astype(np.float32).mean(axis=0)
                    if inside.any() else np.zeros(embeddings.shape[1], dtype=np.float32))
        return item

    def teacher_view(self, rec: int, t_start: float) -> np.ndarray:
        """The teacher's soft labels for the crop at `t_start`: the max over its windows in
        the crop (teacher_windows)."""
        inside, probs = self.teacher_windows(rec, t_start), self.teacher[rec][1]
        if not inside.any():
            return np.zeros(self.n_classes, dtype=np.float32)
        return probs[inside].max(axis=0).astype(np.float32)

    def teacher_windows(self, rec: int, t_start: float) -> np.ndarray:
        """Which of the teacher's windows describe the crop at `t_start`: those that lie
        inside it (to within half a hop), else the one nearest its centre."""
        starts = self.teacher[rec][0]
        duration = self.crop / self.sr
        slack = (starts[1] - starts[0]) / 2 if len(starts) > 1 else 0.0
        inside = (starts >= t_start - slack) & (starts + self.window <= t_start + duration + slack)
        if not inside.any() and len(starts):
            centre = t_start + duration / 2
            inside = np.arange(len(starts)) == np.argmin(np.abs(starts + self.window / 2 - centre))
        return inside

    def quiet(self, rec: int, n_samples: int, rng: np.random.Generator) -> bool:
        """Whether this draw is a quiet negative (see the class). The generator is only drawn
        from when `quiet_share` is set, so runs without it keep their crops."""
        if not self.quiet_share or self.unlabeled[rec] or not len(self.labels[rec]):
            return False
        return n_samples >= QUIET_MIN_CROPS * self.crop and rng.random() < self.quiet_share

    def energies(self, rec: int, ints: np.ndarray, starts: list[int]) -> list[float]:
        """High-passed energy of each candidate crop: the loudest is the crop of a weakly
        labelled recording most likely to hold a call rather than a pause, the quietest the
        one least likely to (envelopes memoised per worker)."""
        if rec not in self._envelopes:
            self._envelopes[rec] = np.concatenate(
                [[0.0], np.cumsum(activity_envelope(ints, self.envelope_hop))])
        cum, hop = self._envelopes[rec], self.envelope_hop
        last = len(cum) - 1
        return [cum[min(last, (a + self.crop) // hop)] - cum[min(last, a // hop)] for a in starts]

    def targets(self, rec: int, t_start: float, absent: bool = False
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Clip target, its weight and frame targets of the crop at `t_start`; with `absent`,
        as if the recording had no event (a quiet negative)."""
        events = self.events[rec][:0] if absent else self.events[rec]
        t_end = t_start + self.crop / self.sr
        target = np.zeros(self.n_classes, dtype=np.float32)
        weight = np.ones(self.n_classes, dtype=np.float32)
        frame_times = t_start + np.arange(self.crop // self.hop + 1) * self.hop / self.sr
        frame_target = np.zeros((len(frame_times), self.n_classes), dtype=np.float32)
        if len(events):
            overlap = np.minimum(events[:, 2], t_end) - np.maximum(events[:, 1], t_start)
            present = events[(overlap > self.min_overlap) & (events[:, 3] == 0)]
            target[present[:, 0].astype(int)] = 1.0
            for cls, t0, t1, _ in present:
                frame_target[(frame_times >= t0) & (frame_times <= t1), int(cls)] = 1.0
        maybe = self.secondary[rec][target[self.secondary[rec]] == 0]
        if self.secondary_label is None:
            weight[maybe] = 0.0
        else:
            target[maybe] = self.secondary_label
        if self.label_smoothing:
            target = target * (1 - self.label_smoothing) + self.label_smoothing / 2
        return target, weight, frame_target


def class_balanced_weights(labels: list[list[int]], n_classes: int) -> np.ndarray:
    """Per-recording sampling weight: the mean over its labels of 1 / (recordings of that
    class), so every class is drawn about equally often (PANNs' and PSLA's balanced sampling)."""
    counts = np.bincount([c for row in labels for c in row], minlength=n_classes)
    return np.array([np.mean([1.0 / counts[c] for c in row]) if len(row) else 1.0 / counts.max()
                     for row in labels])


class EpochSampler(Sampler):
    """Draws `n * crops_per_file` (recording, draw) items per epoch: a shuffle of every recording
    repeated `crops_per_file` times, or, with `weights`, a weighted draw with replacement.

    The order depends only on (seed, epoch), so `start` can skip the batches a resumed run has
    already trained on, and `num_replicas`/`rank` split it between distributed processes.
    """

    def __init__(self, n: int, crops_per_file: int = 1, weights: np.ndarray | None = None,
                 seed: int = 0, num_replicas: int = 1, rank: int = 0) -> None:
        self.n, self.crops, self.seed = n, crops_per_file, seed
        self.weights = None if weights is None else torch.as_tensor(weights, dtype=torch.float64)
        self.num_replicas, self.rank = num_replicas, rank
        self.epoch, self.start = 0, 0

    def set_epoch(self, epoch: int, start: int = 0) -> None:
        self.epoch, self.start = epoch, start

    def _order(self) -> torch.Tensor:
        g = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        total = self.n * self.crops
        if self.weights is None:
            return torch.arange(total)[torch.randperm(total, generator=g)] % self.n
        return torch.multinomial(self.weights, total, replacement=True, generator=g)

    def __iter__(self):
        order = self._order().tolist()
        per_rank = len(order) // self.num_replicas
        mine = list(range(self.rank, per_rank * self.num_replicas, self.num_replicas))
        for position in mine[self.start:]:
            yield order[position], self.epoch * len(order) + position

    def __len__(self) -> int:
        return self.n * self.crops // self.num_replicas - self.start
