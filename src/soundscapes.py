"""Synthetic validation soundscapes: a fold's validation recordings cut into calls and mixed,
quiet and overlapping, over background noise, into soundscapes whose 5-s rows carry known
labels. BirdCLEF trains on focal recordings (one bird, close, loud) and scores 5-s rows of
passive soundscapes (distant, overlapping calls over wind and insects); validating focal
recordings against focal recordings measures only the easy half, so weak-label runs also
validate on these (the `scape_*` scores).

Each call is the loudest stretch of a validation recording (where its primary species most
likely sings), set `snr_db` against the background; the rows it overlaps by at least half a
second, or by half its length, are labelled with that species. The background is the folder
or glob `valid_soundscapes["background"]` names (no-call audio, unlabeled soundscapes the run
does not train on), else the quietest seconds of the validation recordings themselves: never
audio the fold trains on. Deterministic from the fold seed and the validation ids, and cached
beside the audio cache.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd

from atomic import atomic_path
from audio import open_cached, save_cached, to_float
from cache import cache_root, cached_path, fold_seed
from oof import ROW_SECONDS
from recordings import background_files

FRAME = 0.05  # seconds per energy frame when looking for loud and quiet stretches
MIX_VERSION = 4  # part of the cache key: raise it when the mixing changes (stale caches remake)
BACKGROUND_RMS = 0.02  # the background's level; calls are set against it


def call_energy(wave: np.ndarray, sr: int) -> np.ndarray:
    """High-passed energy per FRAME (first difference: wind and hum carry little of it)."""
    hop = max(1, int(FRAME * sr))
    d = np.diff(wave, prepend=wave[:1]) if len(wave) else wave
    n = len(d) // hop
    return (d[:n * hop].reshape(n, hop) ** 2).mean(axis=1) if n else np.zeros(1)


def loudest_start(wave: np.ndarray, sr: int, seconds: float) -> int:
    """Start (samples) of the `seconds` stretch with the most high-passed energy."""
    energy = call_energy(wave, sr)
    width = max(1, int(round(seconds / FRAME)))
    if len(energy) <= width:
        return 0
    sums = np.convolve(energy, np.ones(width), mode="valid")
    return int(np.argmax(sums)) * int(FRAME * sr)


def quiet_pieces(waves: list[np.ndarray], sr: int, share: float = 0.05) -> list[np.ndarray]:
    """The quietest `share` of one-second pieces of `waves` (int16 caches) by high-passed
    energy, leaving out digital silence (a recording's muted seconds are no background). Only
    the quietest few: a louder second of a focal recording may hold a faint call of its species,
    which the background would then carry unlabelled."""
    level = []
    for w, ints in enumerate(waves):
        wave = to_float(ints)
        for k in range(0, len(wave) - sr + 1, sr):
            piece = wave[k:k + sr]
            if np.sqrt(np.mean(piece ** 2)) > 1e-4:
                level.append((float(call_energy(piece, sr).mean()), w, k))
    level.sort()
    count = max(int(len(level) * share), min(len(level), 10))  # few pieces tile into a drone
    return [to_float(waves[w][k:k + sr]) for _, w, k in level[:count]]


def background(rng: np.random.Generator, sources: list[np.ndarray], n: int) -> np.ndarray:
    """`n` samples of noise: random stretches of `sources` (float, or int16 caches) one after
    another, at BACKGROUND_RMS."""
    out, filled = np.zeros(n, dtype=np.float32), 0
    sources = [src for src in sources if len(src)]
    while filled < n and sources:
        src = sources[int(rng.integers(len(sources)))]
        start = int(rng.integers(0, max(1, len(src) - (n - filled))))
        piece = src[start:start + n - filled]
        out[filled:filled + len(piece)] = to_float(piece) if piece.dtype == np.int16 else piece
        filled += len(piece)
    rms = np.sqrt(np.mean(out ** 2))
    return out * (BACKGROUND_RMS / rms) if rms > 0 else out


def plan(n_recordings: int, lengths: list[float], spec: dict,
         rng: np.random.Generator) -> list[list[dict]]:
    """Calls per soundscape: each validation recording `uses` times, `calls` per soundscape,
    each `seconds` long (at most its recording's length) at a start anywhere, `snr_db` loud."""
    order = np.concatenate([rng.permutation(n_recordings) for _ in range(spec["uses"])])
    scapes, k = [], 0
    while k < len(order):
        n = int(rng.integers(spec["calls"][0], spec["calls"][1] + 1))
        calls = []
        for rec in order[k:k + n]:
            seconds = min(float(rng.uniform(*spec["seconds"])), lengths[rec], spec["length"])
            calls.append({"rec": int(rec), "seconds": seconds,
                          "at": float(rng.uniform(0, spec["length"] - seconds)),
                          "snr_db": float(rng.uniform(*spec["snr_db"]))})
        scapes.append(calls)
        k += n
    return scapes


def row_labels(calls: list[dict], labels: list[int], n_classes: int,
               length: float) -> np.ndarray:
    """(rows, classes) truth of one soundscape: a call's species in each 5-s row it overlaps by
    at least half a second or half its length."""
    n_rows = int(np.ceil(length / ROW_SECONDS - 1e-9))
    y = np.zeros((n_rows, n_classes), dtype=np.float32)
    for call in calls:
        a, b = call["at"], call["at"] + call["seconds"]
        for r in range(n_rows):
            overlap = min(b, (r + 1) * ROW_SECONDS) - max(a, r * ROW_SECONDS)
            if overlap >= min(0.5, call["seconds"] / 2):
                y[r, labels[call["rec"]]] = 1.0
    return y


def render(calls: list[dict], waves: list[np.ndarray], noise: np.ndarray, sr: int) -> np.ndarray:
    """The background with each call's loudest stretch (of `waves`, int16 caches) added at its
    `snr_db` over it, the call's level taken over its loudest quarter of frames (so its pauses
    do not raise its gain). A soundscape whose peaks pass full scale is scaled down whole
    rather than clipped, which would distort its loudest calls and change their SNR."""
    out, hop = noise.copy(), max(1, int(FRAME * sr))
    for call in calls:
        wave = to_float(waves[call["rec"]])  # one recording in memory at a time
        n = int(call["seconds"] * sr)
        start = loudest_start(wave, sr, call["seconds"])
        piece = wave[start:start + n].astype(np.float32)
        frames = piece[:len(piece) // hop * hop].reshape(-1, hop)
        energy = np.sort((frames ** 2).mean(axis=1))[::-1]
        active = float(np.sqrt(energy[:max(1, len(energy) // 4)].mean())) if len(energy) else 0.0
        if active < 1e-4:  # digital silence, or near it: no call to add
            continue
        at = int(call["at"] * sr)
        gain = BACKGROUND_RMS * 10 ** (call["snr_db"] / 20) / active
        out[at:at + len(piece)] += gain * piece[:len(out) - at]
    peak = float(np.abs(out).max()) if len(out) else 0.0
    return out / peak if peak > 1.0 else out


def background_sources(cfg) -> tuple[str, list[Path]]:
    """Where the noise comes from: the cached files of the `background` folder or pattern
    (only those it names: the cache may hold another pattern's too), else none (the
    validation recordings' own quiet seconds)."""
    if (cfg.valid_soundscapes or {}).get("background"):
        files = [p for i in background_files(cfg)["id"]
                 for p in [cached_path(cfg, "background", i)] if p.exists()]
        if not files:
            raise SystemExit(f"valid_soundscapes background: nothing cached under "
                             f"{cache_root(cfg) / 'background'}: run prepare.py first")
        return "background", files
    return "quiet", []


def fold_soundscapes(cfg, valid_df: pd.DataFrame, n_classes: int
                     ) -> tuple[list[str], list[np.ndarray]]:
    """The cached soundscapes of a fold's validation recordings and each one's row truth."""
    spec = dict(cfg.valid_soundscapes)
    kind, noise_files = background_sources(cfg)
    ids = [str(i) for i in valid_df["id"]]
    key = hashlib.sha1(json.dumps([sorted(ids), spec, fold_seed(cfg), cfg.sample_rate, kind,
                                   MIX_VERSION],
                                  sort_keys=True, default=list).encode()).hexdigest()[:12]
    folder = cache_root(cfg) / "soundscapes" / key
    truth_path = folder / "truth.npz"
    if not truth_path.exists():
        make(cfg, valid_df, n_classes, spec, noise_files, folder, key)
    with np.load(truth_path) as z:
        truth = [z[f"y{i}"] for i in range(int(z["n"]))]
    return [str(folder / f"{i}.npy") for i in range(len(truth))], truth


def synthetic_rows(cfg, valid_df: pd.DataFrame, n_classes: int
                   ) -> tuple[pd.DataFrame, np.ndarray]:
    """A fold's soundscapes as test rows (`row_id, audio_id, path, t_start, t_end`, 5 s each)
    and their (rows, classes) truth."""
    paths, truth = fold_soundscapes(cfg, valid_df, n_classes)
    rows = [(f"scape{i}_{int((k + 1) * ROW_SECONDS)}", f"scape{i}", path, k * ROW_SECONDS,
             (k + 1) * ROW_SECONDS) for i, (path, y) in enumerate(zip(paths, truth))
            for k in range(len(y))]
    return (pd.DataFrame(rows, columns=["row_id", "audio_id", "path", "t_start", "t_end"]),
            np.concatenate(truth) if truth else np.zeros((0, n_classes), dtype=np.float32))


def make(cfg, valid_df: pd.DataFrame, n_classes: int, spec: dict, noise_files: list[Path],
         folder: Path, key: str) -> None:
    """Plan, render and cache a fold's soundscapes (`<i>.npy`) and their truth (truth.npz)."""
    sr = cfg.sample_rate
    rng = np.random.default_rng([fold_seed(cfg), int(key, 16)])
    waves = [open_cached(p) for p in valid_df["cache_path"]]  # int16 memory maps
    labels = [list(lab)[0] if len(lab) else -1 for lab in valid_df["labels"]]
    keep = [i for i, lab in enumerate(labels) if lab >= 0]  # a call needs its species
    waves, labels = [waves[i] for i in keep], [labels[i] for i in keep]
    noise = ([open_cached(p) for p in noise_files] if noise_files  # memory maps: hours of it
             else quiet_pieces(waves, sr))
    folder.mkdir(parents=True, exist_ok=True)
    truth = {}
    for i, calls in enumerate(plan(len(waves), [len(w) / sr for w in waves], spec, rng)):
        n = int(spec["length"] * sr)
        save_cached(folder / f"{i}.npy", render(calls, waves, background(rng, noise, n), sr))
        truth[f"y{i}"] = row_labels(calls, labels, n_classes, spec["length"])
    with atomic_path(folder / "truth.npz") as tmp, open(tmp, "wb") as f:
        np.savez(f, n=len(truth), **truth)
