"""Training crops and inference windows, read from the resampled int16 cache.

One `SedDataset` serves strong and weak labels: a weak label is an event spanning the whole
recording, so "crop around a random event" becomes "crop anywhere" without a second code path.
"""
from __future__ import annotations

import random
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np
import pandas as pd
import torch
from torch.utils.data import Dataset, IterableDataset, Sampler, get_worker_info

from audio import AudioError, open_cached, stream_wave, to_float


def cache_root(cfg) -> Path:
    """Where prepare.py puts resampled audio and folds: per data set and sample rate, so
    experiments sharing both share the cache."""
    if cfg.cache_dir:
        return Path(cfg.cache_dir)
    return Path("input") / "cache" / f"{Path(cfg.data_dir).name}-{cfg.sample_rate}"


def cached_path(cfg, split: str, audio_id: str) -> Path:
    return cache_root(cfg) / split / f"{audio_id}.npy"


def unreadable_path(cfg) -> Path:
    """prepare.py's list of the recordings it could not read: split, id, path, reason."""
    return cache_root(cfg) / "unreadable.csv"


def read_unreadable(cfg) -> dict[tuple[str, str], str]:
    """(split, id) -> why prepare.py could not read it (empty when it read everything)."""
    path = unreadable_path(cfg)
    if not path.exists():
        return {}
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    return {(s, i): r for s, i, r in zip(table["split"], table["id"], table["reason"])}


def folds_path(cfg) -> Path:
    extra = "_fp" if cfg.false_positives else ""  # false-positive-only recordings join the folds
    scheme = "" if cfg.fold_scheme == "stratified" else f"_{cfg.fold_scheme}"
    return cache_root(cfg) / f"folds_k{cfg.n_folds}_seed{fold_seed(cfg)}{scheme}{extra}.csv"


def fold_seed(cfg) -> int:
    """The seed of the fold split: `fold_seed`, else `seed` (compare training seeds on the
    same folds by setting fold_seed)."""
    return cfg.seed if cfg.fold_seed is None else cfg.fold_seed


def make_folds(recordings: pd.DataFrame, n_folds: int, seed: int,
               scheme: str = "stratified") -> np.ndarray:
    """Fold index per recording, by `scheme`:

    - `stratified`: stratified by its first label, grouped by `group` (the recording, or its
      site/author) so no group is split between training and validation;
    - `species`: every validated species keeps a recording in training, so a fold measures how
      well a species is recognised on a new recording of it, not whether an unseen species can
      be guessed. A species' recordings are dealt over the folds from a random one; a species
      with one recording is always trained on (fold -1, never validated).
    """
    if scheme == "species":
        return species_folds(recordings, n_folds, seed)
    if scheme != "stratified":
        raise SystemExit(f"unknown fold_scheme {scheme!r}; known: stratified, species")
    import warnings

    from sklearn.model_selection import StratifiedGroupKFold

    y = [labels[0] if len(labels) else -1 for labels in recordings["labels"]]
    folds = np.full(len(recordings), -1, dtype=int)
    splitter = StratifiedGroupKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    with warnings.catch_warnings():  # classes rarer than n_folds are expected, not an error
        warnings.simplefilter("ignore", UserWarning)
        try:
            for fold, (_, valid) in enumerate(splitter.split(recordings, y, recordings["group"])):
                folds[valid] = fold
        except ValueError as e:  # e.g. fewer recordings than folds
            raise SystemExit(f"cannot make {n_folds} folds of {len(recordings)} recordings: {e}; "
                             "lower n_folds") from None
    return folds


def species_folds(recordings: pd.DataFrame, n_folds: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    first = np.array([labels[0] if len(labels) else -1 for labels in recordings["labels"]])
    folds = np.full(len(recordings), -1, dtype=int)
    for label in np.unique(first):
        members = rng.permutation(np.flatnonzero(first == label))
        if len(members) > 1:
            folds[members] = (rng.integers(n_folds) + np.arange(len(members))) % n_folds
    return folds


def load_train_table(cfg, competition) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Train recordings with their fold and cache path, and their events: the labelled calls,
    then the known absences (`negative` = True) where the competition has them."""
    path = folds_path(cfg)
    if not path.exists():
        raise SystemExit(f"{path} not found: run `python src/prepare.py {cfg.name}` first")
    recordings = competition.train_recordings()
    folds = pd.read_csv(path, dtype={"id": str})
    recordings = recordings.merge(folds[["id", "fold"]], on="id", how="left", validate="1:1")
    if recordings["fold"].isna().any():
        raise SystemExit(f"{path} lacks some train recordings: delete it and run prepare again")
    recordings["fold"] = recordings["fold"].astype(int)
    recordings["cache_path"] = [str(cached_path(cfg, "train", i)) for i in recordings["id"]]
    recordings = drop_unreadable(cfg, recordings)
    events = pd.concat([competition.train_events().assign(negative=False),
                        competition.train_negatives().assign(negative=True)], ignore_index=True)
    return recordings, events


AUDIO_SUFFIXES = (".ogg", ".mp3", ".flac", ".wav")


def folder_files(folder: str | None, field: str) -> pd.DataFrame:
    """The audio files (id, path) under `folder` (config field `field`); an id is the file's
    path inside it without suffix, with '__' for '/'."""
    if folder is None:
        return pd.DataFrame({"id": [], "path": []})
    root = Path(folder)
    if not root.is_dir():
        raise SystemExit(f"{field} {root}: not a folder")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES)
    return pd.DataFrame({"id": ["__".join(p.relative_to(root).with_suffix("").parts)
                                for p in files], "path": [str(p) for p in files]})


def unlabeled_files(cfg) -> pd.DataFrame:
    """The audio files (id, path) of `distill_audio` when it names a folder."""
    if cfg.distill_audio == "valid":
        return pd.DataFrame({"id": [], "path": []})
    return folder_files(cfg.distill_audio, "distill_audio (a folder, or 'valid')")


def negative_recordings(cfg) -> pd.DataFrame:
    """The recordings of `negative_audio`, cached by prepare.py as split `negative`: audio
    that holds none of the competition's classes (no-call clips, other regions'
    soundscapes). Their crops train with every class absent, so the model meets birds,
    insects and sites that are not its classes, where the training recordings alone show it
    one recording per class. Each file is listed `negative_repeat` times (a 10-min soundscape
    holds far more distinct crops than a training recording). Columns as load_train_table's
    (those it could not read left out)."""
    files = folder_files(cfg.negative_audio, "negative_audio")
    paths = [str(cached_path(cfg, "negative", i)) for i in files["id"]]
    out = pd.DataFrame({"id": files["id"], "cache_path": paths})
    out = out[[Path(p).exists() for p in paths]]
    out = out.loc[out.index.repeat(cfg.negative_repeat)].reset_index(drop=True)
    empty = [[] for _ in range(len(out))]
    return out.assign(labels=empty, secondary=empty, fold=-1)


def unlabeled_recordings(cfg, valid_df: pd.DataFrame) -> pd.DataFrame:
    """Recordings whose crops train only through the teacher's soft labels (`distill_audio`):
    a folder's files, cached by prepare.py as split `unlabeled` (e.g. a competition's
    unlabeled soundscapes), or with "valid" the fold's own validation recordings: what such
    audio from the test's distribution is worth, measured in CV (the teacher, not the
    labels, hears the validation audio). Columns as load_train_table's, plus `split`."""
    if cfg.distill_audio == "valid":
        out = valid_df.assign(split="train")
    else:
        files = unlabeled_files(cfg)
        out = pd.DataFrame({"id": files["id"], "split": "unlabeled", "cache_path": [
            str(cached_path(cfg, "unlabeled", i)) for i in files["id"]]})
        out = out[[Path(p).exists() for p in out["cache_path"]]]  # unreadable ones are left out
    empty = [[] for _ in range(len(out))]
    return out.assign(labels=empty, secondary=empty, unlabeled=True)


def is_unlabeled(recordings: pd.DataFrame) -> list[bool]:
    """Which recordings came from unlabeled_recordings (False where the column is missing)."""
    if "unlabeled" not in recordings:
        return [False] * len(recordings)
    return recordings["unlabeled"].fillna(False).astype(bool).tolist()


def fold_split(recordings: pd.DataFrame, fold: int | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(training, validation) recordings of `fold`; `None` (a full fit): all, none."""
    valid = recordings[recordings.fold == fold] if fold is not None else recordings[:0]
    return recordings.drop(valid.index), valid


def out_of_fold(train_df: pd.DataFrame, valid_df: pd.DataFrame, tag: str) -> list[str]:
    """The ids whose labels a fold trains on (unlabeled audio, which only the teacher labels,
    left out), after checking that none is one of the fold's validation recordings: a model
    that has seen the recordings it is scored on reports a CV the leaderboard never gives.
    Kept in the checkpoint as `trained_on`."""
    labelled = [i for i, u in zip(train_df["id"], is_unlabeled(train_df)) if not u]
    if seen := sorted(set(labelled) & set(valid_df["id"])):
        raise SystemExit(f"{tag} would train on {len(seen)} of its own validation recordings "
                         f"({', '.join(map(str, seen[:3]))}...): its CV would not be out-of-fold")
    return labelled


def drop_unreadable(cfg, recordings: pd.DataFrame) -> pd.DataFrame:
    """The recordings with a usable cache file. Those prepare.py could not read (or whose cache
    file is missing or damaged) are left out with a warning naming each, rather than crashing
    training at their first crop."""
    reasons = read_unreadable(cfg)
    bad: dict[str, str] = {}
    for rid, path in zip(recordings["id"], recordings["cache_path"]):
        try:
            if len(open_cached(path)) == 0:
                bad[rid] = "no audio samples"
        except (OSError, ValueError) as e:
            bad[rid] = reasons.get(("train", rid), f"no usable cache file {path} ({e})")
    if not bad:
        return recordings
    if len(bad) == len(recordings):
        raise SystemExit(f"none of the {len(recordings)} train recordings could be read "
                         f"(see {unreadable_path(cfg)}); run prepare.py")
    print(f"warning: training leaves out {len(bad)} unreadable recording(s):", file=sys.stderr)
    for rid, reason in bad.items():
        print(f"  {rid}: {reason}", file=sys.stderr)
    return recordings[~recordings["id"].isin(set(bad))].reset_index(drop=True)


def multi_hot(labels: list[list[int]], n_classes: int) -> np.ndarray:
    y = np.zeros((len(labels), n_classes), dtype=np.float32)
    for i, row in enumerate(labels):
        y[i, list(row)] = 1.0
    return y


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
                 sample_rate: int, duration: float, hop_length: int, min_overlap: float = 0.0,
                 augment=None, seed: int = 0, label_smoothing: float = 0.0,
                 secondary_label: float | None = None, crop_pick: int = 1,
                 teacher: list[tuple[np.ndarray, np.ndarray, np.ndarray | None]] | None = None,
                 window: float = 3.0, pick_by: str = "energy") -> None:
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
        self.labels = [np.asarray(x, dtype=int) for x in recordings["labels"]]
        self.envelope_hop = max(1, sample_rate // 10)
        self._envelopes: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, item) -> dict[str, torch.Tensor]:
        rec, draw = item if isinstance(item, tuple) else (item, item)
        rng = np.random.default_rng([self.seed, draw])
        ints = open_cached(self.paths[rec])
        events = self.events[rec]
        if len(events):
            _, t0, t1, _ = events[rng.integers(len(events))]  # a call or a known absence
            span = int(t0 * self.sr), int(min(t1, len(ints) / self.sr) * self.sr)
        else:
            span = 0, len(ints)
        starts = [choose_crop(len(ints), self.crop, *span, rng) for _ in range(self.crop_pick)]
        if len(starts) == 1:
            start = starts[0]
        elif self.pick_by == "teacher":  # where the teacher hears the recording's species
            heard = self.labels[rec] if len(self.labels[rec]) else slice(None)  # any species
            start = starts[int(np.argmax([self.teacher_view(rec, a / self.sr)[heard]
                                          .max(initial=0.0) for a in starts]))]
        else:
            start = self.loudest(rec, ints, starts)
        wave = np.zeros(self.crop, dtype=np.float32)
        piece = to_float(ints[start:start + self.crop])
        wave[:len(piece)] = piece
        if self.augment is not None:
            # audiomentations draws from the global generators: seed them per item
            item_seed = int(rng.integers(2**31))
            random.seed(item_seed)
            np.random.seed(item_seed)
            wave = self.augment(wave, self.sr)
        target, weight, frame_target = self.targets(rec, start / self.sr)
        if self.unlabeled[rec]:
            weight[:] = 0.0  # no label says what is absent either
        item = {"wave": torch.from_numpy(wave), "target": torch.from_numpy(target),
                "weight": torch.from_numpy(weight), "frame_target": torch.from_numpy(frame_target)}
        if self.teacher is not None:
            item["teacher"] = torch.from_numpy(self.teacher_view(rec, start / self.sr))
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

    def loudest(self, rec: int, ints: np.ndarray, starts: list[int]) -> int:
        """The candidate crop with the most high-passed energy: in a weakly labelled recording
        the crop most likely to hold a call rather than a pause (envelopes memoised per worker)."""
        if rec not in self._envelopes:
            self._envelopes[rec] = np.concatenate(
                [[0.0], np.cumsum(activity_envelope(ints, self.envelope_hop))])
        cum, hop = self._envelopes[rec], self.envelope_hop
        last = len(cum) - 1
        energy = [cum[min(last, (a + self.crop) // hop)] - cum[min(last, a // hop)] for a in starts]
        return starts[int(np.argmax(energy))]

    def targets(self, rec: int, t_start: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        events, t_end = self.events[rec], t_start + self.crop / self.sr
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
