"""Generate a small synthetic Kaggle bird competition (--layout rfcx, cornell2020, birdclef,
birdclef2021 ... birdclef2025).

The real Rainforest Connection data is tens of GB behind a Kaggle login, so a fresh
machine (CI, a reviewer's laptop) could not otherwise run the pipeline end to end. This
script writes, deterministically from a seed, a miniature competition with the same file
layout and CSV schemas (train/test FLACs, strong labels in train_tp.csv, template-matching
false positives in train_fp.csv, sample_submission.csv) plus a hidden `<out>.solution.csv`
beside it so the true test score can be printed. The audio is built to be bird-like and not
trivially separable: calls come from several families with per-call variation, some species
are near-twins, calls sit at low SNR over a drifting rainforest-like background, and
look-alikes of absent species are mixed in, so a model has to learn something real.

The weak-label layouts (Cornell Birdcall 2020, BirdCLEF 2022+) reuse the same calls and
backgrounds: each train file is one species calling several times (sometimes with a secondary
species), the test set is a few soundscapes labelled per 5-s row, written in that
competition's files (mp3 + train.csv/test.csv; ogg + train_metadata.csv/sample_submission.csv).
"""
from __future__ import annotations

import argparse
import inspect
import json
import os
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from atomic import run_script

F_LO = 1000.0  # lowest call frequency (Hz)
TP_HEADER = "recording_id,species_id,songtype_id,t_min,f_min,t_max,f_max"


def _logu(rng: np.random.Generator, a: float, b: float) -> float:
    """Log-uniform draw in [a, b]."""
    return float(np.exp(rng.uniform(np.log(a), np.log(b))))


def _sign(rng: np.random.Generator) -> int:
    return 1 if rng.random() < 0.5 else -1


def _phase(f: np.ndarray, sr: int) -> np.ndarray:
    return 2 * np.pi * np.cumsum(f) / sr


def _pow2(n: int) -> int:
    """FFT-friendly length >= n (arbitrary lengths can be prime, which is slow)."""
    return 1 << int(np.ceil(np.log2(max(n, 2))))


def _upsample(v: np.ndarray, hop: int, n: int) -> np.ndarray:
    """Linear interpolation of values given every `hop` samples (needs len(v) > n / hop)."""
    ramp = np.arange(hop) / hop
    return (v[:-1, None] + np.diff(v)[:, None] * ramp).ravel()[:n]


def _band_noise(rng: np.random.Generator, n: int, sr: int, f1: float, f2: float) -> np.ndarray:
    f = np.fft.rfftfreq(_pow2(n), 1 / sr)
    spec = (rng.standard_normal(len(f)) + 1j * rng.standard_normal(len(f))) * ((f >= f1) & (f <= f2))
    return np.fft.irfft(spec)[:n]


# --- call families: draw(rng, lo, hi) -> params; render(p, t, sr, rng) -> (wave, f_min, f_max)

def _draw_sweep(rng, lo, hi):
    fa = _logu(rng, lo, hi)
    fb = float(np.clip(fa * _logu(rng, 1.3, 2.5) ** _sign(rng), lo, hi))
    return dict(fa=fa, fb=fb, c=_logu(rng, 0.4, 2.5), arch=bool(rng.random() < 0.3),
                dur=rng.uniform(0.15, 0.8))


def _render_sweep(p, t, sr, rng):
    shape = np.clip(np.sin(np.pi * t / t[-1]) if p["arch"] else t / t[-1], 0.0, 1.0)
    f = p["fa"] + (p["fb"] - p["fa"]) * shape ** p["c"]
    return np.sin(_phase(f, sr)), f.min(), f.max()


def _draw_trill(rng, lo, hi):
    fa = _logu(rng, lo * 1.2, hi * 0.85)
    return dict(fa=fa, fb=float(np.clip(fa * _logu(rng, 0.7, 1.4), lo, hi)), rate=rng.uniform(8, 25),
                duty=rng.uniform(0.4, 0.8), dur=rng.uniform(0.6, 2.0))


def _render_trill(p, t, sr, rng):
    v = (t * p["rate"]) % 1.0 / p["duty"]  # position inside the current note, note while < 1
    f = p["fa"] + (p["fb"] - p["fa"]) * np.minimum(v, 1.0)
    gate = np.where(v < 1.0, np.sin(np.pi * np.minimum(v, 1.0)) ** 2, 0.0)
    return gate * np.sin(_phase(f, sr)), min(p["fa"], p["fb"]), max(p["fa"], p["fb"])


def _draw_harmonic(rng, lo, hi):
    n_h = int(rng.integers(3, 6))  # fundamental + 2-4 harmonics
    f0 = _logu(rng, lo, max(lo * 1.2, hi / n_h))
    return dict(fa=f0, fb=f0 * _logu(rng, 0.9, 1.15), n_h=n_h, decay=rng.uniform(0.4, 0.8),
                vd=rng.uniform(0.0, 0.03), vr=rng.uniform(4, 12), dur=rng.uniform(0.3, 1.2))


def _render_harmonic(p, t, sr, rng):
    f0 = (p["fa"] + (p["fb"] - p["fa"]) * t / t[-1]) * (1 + p["vd"] * np.sin(2 * np.pi * p["vr"] * t))
    n_h = max(1, min(p["n_h"], int(0.44 * sr / f0.max())))
    ph = _phase(f0, sr)
    x = sum(p["decay"] ** h * np.sin((h + 1) * ph) for h in range(n_h))
    return x, f0.min(), n_h * f0.max()


def _draw_whistle2(rng, lo, hi):
    fa = _logu(rng, lo * 1.5, hi * 0.9)
    return dict(fa=fa, fb=float(np.clip(fa * _logu(rng, 1.2, 1.6) ** _sign(rng), lo, hi)),
                gap=rng.uniform(0.08, 0.2), split=rng.uniform(0.35, 0.6), dur=rng.uniform(0.4, 1.1))


def _render_whistle2(p, t, sr, rng):
    u = t / t[-1]
    a, b = p["split"] - p["gap"] / 2, p["split"] + p["gap"] / 2
    f = np.where(u < p["split"], p["fa"], p["fb"]) * (1 + 0.04 * (u - 0.5))
    env = np.sin(np.pi * np.clip(u / a, 0, 1)) + np.sin(np.pi * np.clip((u - b) / (1 - b), 0, 1))
    return env * np.sin(_phase(f, sr)), f.min(), f.max()


def _draw_buzz(rng, lo, hi):
    c, bw = _logu(rng, lo * 2, hi * 0.8), _logu(rng, 400, 2500)
    return dict(fa=max(lo, c - bw / 2), fb=min(hi, c + bw / 2), rate=rng.uniform(25, 120),
                depth=rng.uniform(0.5, 0.95), dur=rng.uniform(0.3, 1.4))


def _render_buzz(p, t, sr, rng):
    am = 1 - p["depth"] * (0.5 + 0.5 * np.cos(2 * np.pi * p["rate"] * t))
    return am * _band_noise(rng, len(t), sr, p["fa"], p["fb"]), p["fa"], p["fb"]


FAMILIES = {
    "sweep": (_draw_sweep, _render_sweep),
    "trill": (_draw_trill, _render_trill),
    "harmonic": (_draw_harmonic, _render_harmonic),
    "whistle2": (_draw_whistle2, _render_whistle2),
    "buzz": (_draw_buzz, _render_buzz),
}


def _draw(family: str, rng: np.random.Generator, hi: float) -> dict:
    return dict(FAMILIES[family][0](rng, F_LO, hi), family=family)


def _perturb(tpl: dict, rng: np.random.Generator, hi: float) -> dict:
    """A confusable variant: same family, shifted pitch, different rate/shape/duration."""
    p = dict(tpl)
    s = _logu(rng, 1.08, 1.2) ** _sign(rng)
    p["fa"], p["fb"] = (float(np.clip(p[k] * s, F_LO, hi)) for k in ("fa", "fb"))
    for key in ("rate", "vr"):  # trill / buzz / vibrato rate
        if key in p:
            p[key] *= _logu(rng, 1.3, 1.7) ** _sign(rng)
    if "c" in p:  # sweep curvature
        p["c"] = 1.0 / p["c"]
    if "split" in p:  # where a two-note whistle changes note
        p["split"] = float(np.clip(p["split"] + 0.12 * _sign(rng), 0.3, 0.65))
    p["dur"] *= rng.uniform(0.75, 1.3)
    return p


def _render_call(tpl: dict, sr: int, rng: np.random.Generator, max_dur: float):
    """One call of a template with natural jitter; unit RMS. Returns (wave, f_min, f_max)."""
    p = dict(tpl)
    pitch = 1 + float(np.clip(rng.normal(0, 0.025), -0.05, 0.05))
    p["fa"], p["fb"] = p["fa"] * pitch, p["fb"] * pitch
    if "rate" in p:
        p["rate"] *= 1 + float(np.clip(rng.normal(0, 0.05), -0.1, 0.1))
    n = max(64, int(min(max_dur, p["dur"] * float(np.clip(rng.normal(1, 0.1), 0.75, 1.25))) * sr))
    x, f1, f2 = FAMILIES[p["family"]][1](p, np.arange(n) / sr, sr, rng)
    ramp = max(2, min(n // 4, int(0.03 * sr)))
    env = np.ones(n)
    env[:ramp] = env[-ramp:][::-1] = 0.5 - 0.5 * np.cos(np.pi * np.arange(ramp) / ramp)
    x = x * env
    x = x[::-1] if p.get("reverse") else x
    return x / (np.sqrt(np.mean(x ** 2)) + 1e-12), f1 * 0.95, min(f2 * 1.05, 0.49 * sr)


def _make_species(rng: np.random.Generator, n_species: int, hi: float) -> list[list[dict]]:
    """Per species a list of song-type templates. About a quarter of the species are near-twins
    (same family, overlapping band, different pitch/rate/shape) of another species."""
    fams = list(FAMILIES)
    n_twins = n_species // 4
    n_base = n_species - n_twins
    species = [[_draw(fams[f], rng, hi)] for f in rng.permutation(np.arange(n_base) % len(fams))]
    species += [[_perturb(species[k][0], rng, hi)] for k in rng.permutation(n_base)[:n_twins]]
    for k in rng.permutation(n_species)[: max(1, n_species // 5)]:  # a few have a 2nd song type
        species[k].append(_draw(fams[int(rng.integers(len(fams)))], rng, hi))
    return [species[k] for k in rng.permutation(n_species)]


def _background(rng: np.random.Generator, n: int, sr: int, hi: float) -> np.ndarray:
    """Pink-to-brown noise with a drifting level, hiss floor, optional insect band, wind rumble."""
    f = np.fft.rfftfreq(n, 1 / sr)
    shape = (np.maximum(f, 20.0) / 1000.0) ** (-rng.uniform(1.0, 2.0) / 2) + rng.uniform(0.03, 0.15)
    if rng.random() < 0.35:
        fc, bw = _logu(rng, 3000, hi), rng.uniform(100, 500)
        shape += rng.uniform(0.1, 0.6) * np.exp(-0.5 * ((f - fc) / bw) ** 2)
    x = np.fft.irfft((rng.standard_normal(len(f)) + 1j * rng.standard_normal(len(f))) * shape, n)
    x /= x.std()
    x *= _upsample(10 ** (rng.normal(0, 3, n // (2 * sr) + 2) / 20), 2 * sr, n)  # level drift
    hop = max(1, sr // 400)  # wind: smoothed noise at ~400 Hz with slow gusts, upsampled
    m = n // hop + 2
    w = np.convolve(rng.standard_normal(m), np.ones(6) / 6, "same")
    w *= 1 + 0.8 * np.sin(2 * np.pi * rng.uniform(0.05, 0.3) * np.arange(m) * hop / sr + rng.uniform(0, 6.3))
    x += rng.uniform(0.2, 1.5) * _upsample(w / (w.std() + 1e-12), hop, n)
    return x


def _mix(x: np.ndarray, bg: np.ndarray, wave: np.ndarray, start: int, f1: float, f2: float,
         snr_db: float, sr: int) -> None:
    """Add `wave` (unit RMS) at `start` with the given SNR vs. the background power in [f1, f2]."""
    seg, nfft = bg[start:start + len(wave)], _pow2(len(wave))
    f = np.fft.rfftfreq(nfft, 1 / sr)  # Parseval with zero padding: sum|X|^2 = nfft * sum x^2
    band_pow = 2 * np.sum(np.abs(np.fft.rfft(seg, nfft)[(f >= f1) & (f <= f2)]) ** 2) / (nfft * len(seg))
    x[start:start + len(wave)] += wave * np.sqrt(band_pow * 10 ** (snr_db / 10))


def _noise_event(kind: str, rng: np.random.Generator, sr: int) -> np.ndarray:
    """Clicks (a few sharp broadband ticks) or a rain-like burst (many tiny drops)."""
    n = int((0.3 if kind == "click" else rng.uniform(0.5, 2.5)) * sr)
    kern = rng.standard_normal(int(0.003 * sr)) * np.exp(-np.arange(int(0.003 * sr)) / (0.0005 * sr))
    imp = np.zeros(n)
    n_imp = int(rng.integers(2, 8)) if kind == "click" else int(rng.uniform(80, 400) * n / sr)
    imp[rng.integers(0, n, n_imp)] = rng.exponential(1.0, n_imp)
    x = np.diff(np.convolve(imp, kern, "same"), prepend=0.0)
    return x / (np.sqrt(np.mean(x ** 2)) + 1e-12)


def _free_start(rng, n: int, length: int, margin: int, spans: list) -> int | None:
    """A random start keeping [start, start+length) inside the clip and off `spans`."""
    for _ in range(20):
        s = int(rng.integers(margin, max(margin + 1, n - length - margin)))
        if all(s + length <= a or s >= b for a, b in spans):
            return s
    return None


def _add_calls(rng, x, bg, k: int, n_calls: int, species, sr: int, max_dur: float,
               margin: int) -> list[tuple[int, int, int, float, float]]:
    """Mix up to `n_calls` calls of species `k` into `x`, never overlapping each other.
    Returns (start, end, song type index, f_min, f_max) per call placed."""
    own: list = []
    placed = []
    for _ in range(n_calls):
        st = 1 if len(species[k]) > 1 and rng.random() < 0.3 else 0
        wave, f1, f2 = _render_call(species[k][st], sr, rng, max_dur)
        s = _free_start(rng, len(x), len(wave), margin, own)
        if s is not None:
            own.append((s, s + len(wave)))
            _mix(x, bg, wave, s, f1, f2, rng.uniform(-3, 20), sr)
            placed.append((s, s + len(wave), st, f1, f2))
    return placed


def _add_distractors(rng, x, bg, absent: list[int], species, sr: int, hi: float, max_dur: float,
                     margin: int) -> list[tuple[int, int, int, float, float]]:
    """Mix 0-2 things that are not a present species' call: look-alikes of absent species,
    clicks, rain, short chirps. Returns (species, start, end, f_min, f_max) per look-alike."""
    n, lookalikes = len(x), []
    for _ in range(int(rng.choice(3, p=[0.25, 0.45, 0.3]))):
        kind = rng.choice(["lookalike", "click", "rain", "chirp"], p=[0.45, 0.2, 0.15, 0.2])
        if kind in ("click", "rain"):
            wave, f1, f2 = _noise_event(kind, rng, sr), F_LO, hi
        elif kind == "lookalike" and absent:
            k = absent[int(rng.integers(len(absent)))]
            tpl = dict(_perturb(species[k][0], rng, hi), reverse=bool(rng.random() < 0.3))
            wave, f1, f2 = _render_call(tpl, sr, rng, max_dur)
        else:
            kind = "chirp"
            tpl = dict(_draw("sweep", rng, hi), dur=rng.uniform(0.05, 0.25))
            wave, f1, f2 = _render_call(tpl, sr, rng, max_dur)
        wave = wave[:max(1, n - 2 * margin)]  # a rain burst can outlast a short clip
        s = int(rng.integers(margin, max(margin + 1, n - len(wave) - margin)))
        _mix(x, bg, wave, s, f1, f2, rng.uniform(0, 15), sr)
        if kind == "lookalike":
            lookalikes.append((k, s, s + len(wave), f1, f2))
    return lookalikes


def _make_recording(rng, rid, present, species, duration, sr, hi):
    """Mix one recording. Returns (audio float32, tp rows, fp rows)."""
    n, margin = int(round(duration * sr)), int(0.05 * sr)
    bg = _background(rng, n, sr, hi)
    x, tp, fp, busy = bg.copy(), [], [], []
    for k in present:
        placed = _add_calls(rng, x, bg, k, int(rng.integers(1, 5)), species, sr, 0.4 * duration,
                            margin)
        tp += [(rid, k, 4 if st else 1, s / sr, f1, e / sr, f2) for s, e, st, f1, f2 in placed]
        busy += [(s, e) for s, e, *_ in placed]
    absent = [k for k in range(len(species)) if k not in present]
    fp = [(rid, k, 1, s / sr, f1, e / sr, f2)
          for k, s, e, f1, f2 in _add_distractors(rng, x, bg, absent, species, sr, hi,
                                                  0.4 * duration, margin)]
    if rng.random() < 0.08:  # a block of exact digital zeros, off the annotated calls
        length = int(rng.uniform(min(0.5, 0.3 * duration), min(2.0, 0.3 * duration)) * sr)
        s = _free_start(rng, n, length, 0, busy)
        if s is not None:
            x[s:s + length] = 0.0
    return (x * (0.9 / np.abs(x).max())).astype(np.float32), tp, fp


def _write_text(path: Path, lines: list[str]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    os.replace(tmp, path)


def _fmt(row) -> str:
    rid, k, st, t0, f1, t1, f2 = row
    return f"{rid},{k},{st},{t0:.4f},{f1:.1f},{t1:.4f},{f2:.1f}"


def _ids(rng: np.random.Generator, n: int, taken: set) -> list[str]:
    out: list[str] = []
    while len(out) < n:
        rid = f"{int(rng.integers(0, 16 ** 9)):09x}"
        if rid not in taken and any(c in "abcdf" for c in rid):  # never parses as a number
            taken.add(rid)
            out.append(rid)
    return out


def _primaries(plan: np.random.Generator, n_species: int,
               n_train: int) -> tuple[np.ndarray, np.ndarray]:
    """Species frequencies (up to 2x imbalance) and a shuffled primary species per train file,
    every species getting its share (so each has training files however few there are)."""
    weights = plan.permutation(np.linspace(1.0, 2.0, n_species))
    prob = weights / weights.sum()
    counts = np.floor(n_train * prob).astype(int)  # guaranteed primary appearances per species
    counts[np.argsort(-(n_train * prob - counts), kind="stable")[: n_train - counts.sum()]] += 1
    return prob, plan.permutation(np.repeat(np.arange(n_species), counts))


def make_rfcx_demo(out_dir: str | Path, seed: int = 0, n_species: int = 12, n_train: int = 120,
                   n_test: int = 40, duration: float = 20.0, sr: int = 48000, force: bool = False) -> Path:
    """Write the synthetic competition to `out_dir` (built in `<out_dir>.tmp`, then renamed)
    and its test labels to `<out_dir>.solution.csv`. Returns `out_dir`."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not force:
        raise FileExistsError(f"{out_dir} already exists; pass --force (force=True) to overwrite it")
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    for split in ("train", "test"):
        (tmp / split).mkdir(parents=True)
    hi = min(12000.0, 0.42 * sr)
    species = _make_species(np.random.default_rng([seed, 0]), n_species, hi)
    prob, primaries = _primaries(np.random.default_rng([seed, 1]), n_species, n_train)
    empty = set(np.random.default_rng([seed, 6]).permutation(n_test)[: round(0.05 * n_test)].tolist())
    taken: set = set()
    train_ids = _ids(np.random.default_rng([seed, 4]), n_train, taken)
    test_ids = _ids(np.random.default_rng([seed, 5]), n_test, taken)

    def job(split: str, i: int, rid: str):
        rng = np.random.default_rng([seed, 2 if split == "train" else 3, i])
        n_extra = int(rng.choice(3, p=[0.5, 0.35, 0.15]))
        if split == "train":
            first = [int(primaries[i])]
        elif i in empty:
            first = []  # background + distractors only
        else:
            first = [int(rng.choice(n_species, p=prob))]
        others = [k for k in range(n_species) if k not in first]
        n_extra = min(n_extra, len(others)) if first else 0
        extra = rng.choice(others, n_extra, replace=False, p=prob[others] / prob[others].sum())
        present = sorted(first + [int(k) for k in extra])
        audio, tp, fp = _make_recording(rng, rid, present, species, duration, sr, hi)
        sf.write(tmp / split / f"{rid}.flac", audio, sr, subtype="PCM_16")
        return present, tp, fp

    # Each recording has its own generator, so threads (numpy/libsndfile release the GIL) keep
    # the output identical to a serial run.
    jobs = [("train", i, rid) for i, rid in enumerate(train_ids)] + [("test", i, rid) for i, rid in enumerate(test_ids)]
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        results = list(pool.map(lambda j: job(*j), jobs))
    tp_rows = [r for res in results[:n_train] for r in res[1]]
    fp_rows = [r for res in results[:n_train] for r in res[2]]
    solution = {rid: res[0] for rid, res in zip(test_ids, results[n_train:])}
    key = lambda r: (r[0], r[3], r[1])  # noqa: E731
    _write_text(tmp / "train_fp.csv", [TP_HEADER] + [_fmt(r) for r in sorted(fp_rows, key=key)])
    head = "recording_id," + ",".join(f"s{k}" for k in range(n_species))
    _write_text(tmp / "sample_submission.csv",
                [head] + [rid + ",0" * n_species for rid in sorted(test_ids)])
    _write_text(tmp / "train_tp.csv", [TP_HEADER] + [_fmt(r) for r in sorted(tp_rows, key=key)])
    _write_text(out_dir.with_name(out_dir.name + ".solution.csv"), [head] + [
        rid + "".join(f",{int(k in solution[rid])}" for k in range(n_species)) for rid in sorted(test_ids)])
    if out_dir.exists():
        shutil.rmtree(out_dir)
    os.replace(tmp, out_dir)
    return out_dir


# --- weak-label layouts (Cornell 2020, BirdCLEF): one species per train file, 5-s test rows

# (eBird code, scientific name, common name): real codes, so the files look like the real ones
EBIRD = [
    ("amecro", "Corvus brachyrhynchos", "American Crow"),
    ("amegfi", "Spinus tristis", "American Goldfinch"),
    ("amerob", "Turdus migratorius", "American Robin"),
    ("bkcchi", "Poecile atricapillus", "Black-capped Chickadee"),
    ("blujay", "Cyanocitta cristata", "Blue Jay"),
    ("cangoo", "Branta canadensis", "Canada Goose"),
    ("carwre", "Thryothorus ludovicianus", "Carolina Wren"),
    ("cedwax", "Bombycilla cedrorum", "Cedar Waxwing"),
    ("chispa", "Spizella passerina", "Chipping Sparrow"),
    ("comgra", "Quiscalus quiscula", "Common Grackle"),
    ("dowwoo", "Dryobates pubescens", "Downy Woodpecker"),
    ("eawpew", "Contopus virens", "Eastern Wood-Pewee"),
    ("gockin", "Regulus satrapa", "Golden-crowned Kinglet"),
    ("grycat", "Dumetella carolinensis", "Gray Catbird"),
    ("haiwoo", "Dryobates villosus", "Hairy Woodpecker"),
    ("houwre", "Troglodytes aedon", "House Wren"),
    ("moudov", "Zenaida macroura", "Mourning Dove"),
    ("mouchi", "Poecile gambeli", "Mountain Chickadee"),
    ("norcar", "Cardinalis cardinalis", "Northern Cardinal"),
    ("norfli", "Colaptes auratus", "Northern Flicker"),
    ("purfin", "Haemorhous purpureus", "Purple Finch"),
    ("reevir1", "Vireo olivaceus", "Red-eyed Vireo"),
    ("rewbla", "Agelaius phoeniceus", "Red-winged Blackbird"),
    ("sonspa", "Melospiza melodia", "Song Sparrow"),
    ("sposan", "Actitis macularius", "Spotted Sandpiper"),
    ("swaspa", "Melospiza georgiana", "Swamp Sparrow"),
    ("tuftit", "Baeolophus bicolor", "Tufted Titmouse"),
    ("veery", "Catharus fuscescens", "Veery"),
    ("westan", "Piranga ludoviciana", "Western Tanager"),
    ("whbnut", "Sitta carolinensis", "White-breasted Nuthatch"),
    ("wooduc", "Aix sponsa", "Wood Duck"),
    ("yelwar", "Setophaga petechia", "Yellow Warbler"),
]
OUTSIDER = ("houspa", "Passer domesticus", "House Sparrow")  # heard in the background, no class
CHUNK = 5  # seconds per scored test row


def _names(n_species: int) -> list[tuple[str, str, str]]:
    """Sorted so class index k (sorted codes, as the formats define classes) is species k."""
    extra = [(f"spc{k:03d}", f"Demoavis species{k}", f"Demo Bird {k}")
             for k in range(len(EBIRD), n_species)]
    return sorted((EBIRD + extra)[:n_species])


def _write_blocks(path: Path, audio: np.ndarray, sr: int, fmt: str, subtype: str | None = None,
                  block: int = 32768) -> None:
    """Write in blocks: libsndfile's Vorbis encoder can crash on one long write."""
    with sf.SoundFile(str(path), "w", sr, 1, format=fmt, subtype=subtype) as f:
        for i in range(0, len(audio), block):
            f.write(audio[i:i + block])


def _mp3_writable(folder: Path, sr: int) -> bool:
    """libsndfile >= 1.1 writes MPEG Layer III; older builds (or rates MPEG lacks) cannot."""
    probe = folder / ".probe.mp3"
    try:
        _write_blocks(probe, np.zeros(4096, np.float32), sr, "MP3")
        return sf.info(str(probe)).frames > 0
    except Exception:  # noqa: BLE001 - any failure means "write .wav instead"
        return False
    finally:
        probe.unlink(missing_ok=True)


def _weak_recording(rng, calls: list[tuple[int, int]], species, duration: float, sr: int,
                    hi: float) -> tuple[np.ndarray, list[tuple[int, float, float]]]:
    """Background + `n` calls of species `k` for each (k, n) in `calls` + distractors.
    Returns the audio and (species, t_start, t_end) per call placed."""
    n, margin = int(round(duration * sr)), int(0.05 * sr)
    bg = _background(rng, n, sr, hi)
    x, events = bg.copy(), []
    for k, n_calls in calls:
        for s, e, *_ in _add_calls(rng, x, bg, k, n_calls, species, sr, 0.4 * duration, margin):
            events.append((k, s / sr, e / sr))
    present = {k for k, _ in calls}
    _add_distractors(rng, x, bg, [k for k in range(len(species)) if k not in present], species,
                     sr, hi, 0.4 * duration, margin)
    return (x * (0.9 / np.abs(x).max())).astype(np.float32), events


def _heard(events: list[tuple[int, float, float]], t0: float, t1: float) -> list[int]:
    """Species with a call overlapping [t0, t1): how a 5-s test row is labelled."""
    return sorted({k for k, a, b in events if a < t1 and b > t0})


def _birds(codes: list[str], heard) -> str:
    """A `birds` cell: the codes of the species heard, or `nocall`."""
    return " ".join(codes[k] for k in sorted(heard)) or "nocall"


def _train_plan(seed: int, n_species: int, n_train: int, duration: float):
    """Per train file: primary species, audible secondary species, listed-only outsider,
    length, author and xeno-canto number. Drawn from its own streams, so the train side does
    not change with n_test."""
    prob, primaries = _primaries(np.random.default_rng([seed, 1]), n_species, n_train)
    meta = np.random.default_rng([seed, 7])
    xc = meta.choice(900000, n_train, replace=False) + 100000
    authors = meta.integers(0, max(2, n_train // 3), n_train)
    plan = []
    for i in range(n_train):
        rng = np.random.default_rng([seed, 8, i])
        k = int(primaries[i])
        others = [j for j in range(n_species) if j != k]
        second = ([int(rng.choice(others))] if others and rng.random() < 0.3 else [])
        plan.append(dict(primary=k, secondary=second, outsider=bool(rng.random() < 0.1),
                         duration=round(max(1.0, _logu(rng, 0.3 * duration, 3 * duration)), 2),
                         author=f"Recordist {int(authors[i])}", xc=int(xc[i])))
    return prob, plan


def _soundscape_calls(rng, prob: np.ndarray) -> list[tuple[int, int]]:
    """0-3 species, 1-5 calls each: many 5-s rows stay silent, as in real soundscapes."""
    n_species = len(prob)
    n = min(n_species, int(rng.choice(4, p=[0.1, 0.3, 0.35, 0.25])))
    present = sorted(int(k) for k in rng.choice(n_species, n, replace=False, p=prob))
    return [(k, int(rng.integers(1, 6))) for k in present]


def _render_weak(seed: int, prob: np.ndarray, plan: list[dict], n_test: int, duration: float,
                 sr: int, write_train, write_test, n_clips: int = 0, n_after: int = 0):
    """Render the planned train files, `n_test` soundscapes (the test's, then any unlabeled
    ones), `n_clips` short clips and `n_after` more soundscapes in threads, each from its own
    generator, so the output does not depend on scheduling and adding files changes no other;
    `write_*(i, audio)` store the audio. Returns (length, events) per soundscape or clip, in
    that order."""
    hi = min(12000.0, 0.42 * sr)
    species = _make_species(np.random.default_rng([seed, 0]), len(prob), hi)

    def train_job(i: int):
        p = plan[i]
        rng = np.random.default_rng([seed, 2, i])
        calls = [(p["primary"], int(rng.integers(2, 7)))]
        calls += [(k, int(rng.integers(1, 3))) for k in p["secondary"]]
        audio, _ = _weak_recording(rng, calls, species, p["duration"], sr, hi)
        write_train(i, audio)

    def test_job(i: int):
        rng = np.random.default_rng([seed, 3, i])
        if i < n_test or i >= n_test + n_clips:  # soundscapes of 3, 4.5 and 6 x duration
            length = duration * (3 + 1.5 * (i % 3))
        else:  # short clip-level recordings
            length = round(max(2.0, duration * rng.uniform(0.8, 1.6)), 2)
        audio, events = _weak_recording(rng, _soundscape_calls(rng, prob), species, length, sr, hi)
        write_test(i, audio)
        return length, events

    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        list(pool.map(train_job, range(len(plan))))
        return list(pool.map(test_job, range(n_test + n_clips + n_after)))


def _staged(out_dir: str | Path, force: bool) -> tuple[Path, Path]:
    """(out_dir, its empty `.tmp` sibling to build in), refusing to overwrite unless forced."""
    out_dir = Path(out_dir)
    if out_dir.exists() and not force:
        raise FileExistsError(f"{out_dir} already exists; pass --force (force=True) to overwrite it")
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    return out_dir, tmp


def _publish(tmp: Path, out_dir: Path) -> Path:
    if out_dir.exists():
        shutil.rmtree(out_dir)
    os.replace(tmp, out_dir)
    return out_dir


def _label_list(items: list[str]) -> str:
    """Kaggle's secondary_labels cell: a Python list literal."""
    return repr(list(items))


def make_cornell2020_demo(out_dir: str | Path, seed: int = 0, n_species: int = 12,
                          n_train: int = 80, n_test: int = 4, duration: float = 10.0,
                          sr: int = 32000, force: bool = False) -> Path:
    """Cornell Birdcall Identification 2020 layout: `train.csv` + `train_audio/<code>/XC<n>.mp3`
    (weak labels: one primary species per file, secondary species as "Scientific_Common"
    names), `test.csv` + `test_audio/<audio_id>.mp3` with `n_test` site_1 soundscapes (5-s rows)
    and one site_3 clip (one clip-level row); true labels in `<out_dir>.solution.csv`
    (`row_id,birds`); two labelled example soundscapes, `example_test_audio/<name>_<date>_
    <time>.pt<n>.mp3` with `example_test_audio_summary.csv` (`filename` = the short name,
    `seconds`, `birds`). Where libsndfile cannot write MP3 the audio is .wav and the `filename`
    column says so. Default duration = typical train file; files last 0.3-3x it."""
    out_dir, tmp = _staged(out_dir, force)
    names = _names(n_species)
    ext = "mp3" if _mp3_writable(tmp, sr) else "wav"
    fmt = {"mp3": ("MP3", None), "wav": ("WAV", "PCM_16")}[ext]
    test_ids = _ids(np.random.default_rng([seed, 4]), n_test + 1, set())
    prob, plan = _train_plan(seed, n_species, n_train, duration)
    for code in {names[p["primary"]][0] for p in plan}:
        (tmp / "train_audio" / code).mkdir(parents=True)
    (tmp / "test_audio").mkdir()

    def write_train(i, audio):
        p = plan[i]
        _write_blocks(tmp / "train_audio" / names[p["primary"]][0] / f"XC{p['xc']}.{ext}",
                      audio, sr, *fmt)

    codes = [code for code, _, _ in names]
    examples = [f"SITE{k}-{k + 6}-CPL" for k in range(1, 3)]
    (tmp / "example_test_audio").mkdir()

    def write_test(i, audio):
        if i > n_test:  # after the site_3 clip: the labelled examples
            k = i - n_test - 1
            name = f"{examples[k]}_2019061{k + 1}_093000.pt{540 + k}.{ext}"
            _write_blocks(tmp / "example_test_audio" / name, audio, sr, *fmt)
        else:
            _write_blocks(tmp / "test_audio" / f"{test_ids[i]}.{ext}", audio, sr, *fmt)

    tests = _render_weak(seed, prob, plan, n_test, duration, sr, write_train, write_test,
                         n_clips=1, n_after=len(examples))
    summary = ["filename,seconds,birds"]
    for name, (length, events) in zip(examples, tests[n_test + 1:]):
        for end in range(CHUNK, int(length // CHUNK) * CHUNK + 1, CHUNK):
            heard = _heard(events, end - CHUNK, end)
            summary.append(f"{name},{end},{_birds(codes, heard)}")
    _write_text(tmp / "example_test_audio_summary.csv", summary)
    full = [f"{sci}_{common}" for _, sci, common in names]
    train = [{"xc_id": p["xc"], "ebird_code": names[p["primary"]][0],
              "species": names[p["primary"]][2], "sci_name": names[p["primary"]][1],
              "primary_label": full[p["primary"]],
              "secondary_labels": _label_list([full[k] for k in p["secondary"]] + (
                  [f"{OUTSIDER[1]}_{OUTSIDER[2]}"] if p["outsider"] else [])),
              "type": "song", "author": p["author"], "duration": int(round(p["duration"])),
              "filename": f"XC{p['xc']}.{ext}"} for p in plan]
    pd.DataFrame(train).to_csv(tmp / "train.csv", index=False)
    test_lines, solution = ["site,row_id,seconds,audio_id"], ["row_id,birds"]
    for i, (length, events) in enumerate(tests[:n_test + 1]):
        aid = test_ids[i]
        if i < n_test:  # complete 5-s chunks only, as the competition's test.csv
            for end in range(CHUNK, int(length // CHUNK) * CHUNK + 1, CHUNK):
                test_lines.append(f"site_1,site_1_{aid}_{end},{end}.0,{aid}")
                heard = _heard(events, end - CHUNK, end)
                solution.append(f"site_1_{aid}_{end},{_birds(codes, heard)}")
        else:
            test_lines.append(f"site_3,site_3_{aid},,{aid}")
            heard = _heard(events, 0.0, length)
            solution.append(f"site_3_{aid},{_birds(codes, heard)}")
    _write_text(tmp / "test.csv", test_lines)
    _write_text(out_dir.with_name(out_dir.name + ".solution.csv"), solution)
    return _publish(tmp, out_dir)


def make_birdclef_demo(out_dir: str | Path, seed: int = 0, n_species: int = 12,
                       n_train: int = 80, n_test: int = 4, duration: float = 10.0,
                       sr: int = 32000, force: bool = False) -> Path:
    """BirdCLEF 2023 layout (also `birdclef2023`): `train_metadata.csv` +
    `train_audio/<code>/XC<n>.ogg` (weak labels, secondary labels as class codes),
    `eBird_Taxonomy_v2021.csv`, `test_soundscapes/soundscape_<n>.ogg` (`n_test` files of 3, 4.5
    and 6 x duration), `sample_submission.csv` (row_id + a column per class, a row per 5 s of
    each soundscape) and the 0/1 truth in `<out_dir>.solution.csv`."""
    return _birdclef_demo(out_dir, seed, n_species, n_train, n_test, duration, sr, force, 2023)


def make_birdclef2021_demo(out_dir: str | Path, seed: int = 0, n_species: int = 12,
                           n_train: int = 80, n_test: int = 4, duration: float = 10.0,
                           sr: int = 32000, force: bool = False) -> Path:
    """BirdCLEF 2021 layout: 2021's `train_metadata.csv` (no author; bare filenames) over
    `train_short_audio/<code>/XC<n>.ogg`, soundscapes `<audio_id>_<site>_<date>.ogg`, `test.csv`
    (`row_id,site,audio_id,seconds`, row_id `<audio_id>_<site>_<seconds>`) and
    `sample_submission.csv` `row_id,birds` (`nocall`); truth `row_id,birds` beside it; and
    `n_test` labelled `train_soundscapes/` with `train_soundscape_labels.csv`
    (`row_id,site,audio_id,seconds,birds`)."""
    return _birdclef_demo(out_dir, seed, n_species, n_train, n_test, duration, sr, force, 2021)


def make_birdclef2022_demo(out_dir: str | Path, seed: int = 0, n_species: int = 12,
                           n_train: int = 80, n_test: int = 4, duration: float = 10.0,
                           sr: int = 32000, force: bool = False) -> Path:
    """BirdCLEF 2022 layout: 2022's `train_metadata.csv` over `train_audio/<code>/XC<n>.ogg`,
    `scored_birds.json` (every other class), `eBird_Taxonomy_v2021.csv`,
    `test_soundscapes/soundscape_<n>.ogg`, `test.csv` (`row_id,file_id,bird,end_time`, a row
    per soundscape, 5-s window and scored bird) and `sample_submission.csv` `row_id,target`
    (False); truth `row_id,target` beside it."""
    return _birdclef_demo(out_dir, seed, n_species, n_train, n_test, duration, sr, force, 2022)


def make_birdclef2024_demo(out_dir: str | Path, seed: int = 0, n_species: int = 12,
                           n_train: int = 80, n_test: int = 4, duration: float = 10.0,
                           sr: int = 32000, force: bool = False) -> Path:
    """BirdCLEF 2024 layout: as 2023, with 2024's train_metadata.csv columns and
    `unlabeled_soundscapes/` holding 2 x `n_test` soundscapes of the test's kind, unlabeled."""
    return _birdclef_demo(out_dir, seed, n_species, n_train, n_test, duration, sr, force, 2024)


def make_birdclef2025_demo(out_dir: str | Path, seed: int = 0, n_species: int = 12,
                           n_train: int = 80, n_test: int = 4, duration: float = 10.0,
                           sr: int = 32000, force: bool = False) -> Path:
    """BirdCLEF+ 2025 layout: `train.csv` (with `collection` XC/iNat/CSA and `rating`),
    `taxonomy.csv` where every fourth class is a frog, insect or mammal named by an iNaturalist
    id, `train_audio/<label>/<collection><n>.ogg`, `train_soundscapes/` holding 2 x `n_test`
    unlabeled soundscapes of the test's kind, test soundscapes and sample submission as 2023."""
    return _birdclef_demo(out_dir, seed, n_species, n_train, n_test, duration, sr, force, 2025)


NON_BIRDS = ("Amphibia", "Insecta", "Mammalia")
SITES = ("COR", "SSW", "SNE", "COL")  # BirdCLEF 2021's recording sites
UNLABELED = {2021: "train_soundscapes", 2024: "unlabeled_soundscapes", 2025: "train_soundscapes"}
# the column order of each year's table of training recordings
TRAIN_COLUMNS = {
    2021: ["primary_label", "secondary_labels", "type", "latitude", "longitude",
           "scientific_name", "common_name", "date", "filename", "license", "rating", "time",
           "url"],
    2022: ["primary_label", "secondary_labels", "type", "latitude", "longitude",
           "scientific_name", "common_name", "author", "license", "rating", "time", "url",
           "filename"],
    2023: ["primary_label", "secondary_labels", "type", "latitude", "longitude",
           "scientific_name", "common_name", "author", "license", "rating", "url", "filename"],
    2024: ["primary_label", "secondary_labels", "type", "latitude", "longitude",
           "scientific_name", "common_name", "author", "license", "rating", "url", "filename"],
    2025: ["primary_label", "secondary_labels", "type", "filename", "collection", "rating",
           "url", "latitude", "longitude", "scientific_name", "common_name", "author",
           "license"],
}


def _names_2025(n_species: int) -> list[tuple[str, str, str, str]]:
    """(label, scientific name, common name, class_name), sorted by label as 2025's taxonomy:
    every fourth species becomes a non-bird whose label is a (made-up) iNaturalist id."""
    out = []
    for k, (code, sci, common) in enumerate(_names(n_species)):
        if k % 4 == 3:
            out.append((str(21000 + 7919 * k), f"Demofauna species{k}",
                        f"Demo {NON_BIRDS[k // 4 % 3]} {k}", NON_BIRDS[k // 4 % 3]))
        else:
            out.append((code, sci, common, "Aves"))
    return sorted(out)


def _birdclef_demo(out_dir, seed: int, n_species: int, n_train: int, n_test: int,
                   duration: float, sr: int, force: bool, year: int) -> Path:
    """The BirdCLEF layouts share audio and truth; `year` picks the files that hold them. The
    unlabeled soundscapes (2024, 2025) are rendered after the test ones from their own
    streams, so adding them changes no other file."""
    out_dir, tmp = _staged(out_dir, force)
    names = _names_2025(n_species) if year == 2025 else [(*n, "Aves") for n in _names(n_species)]
    codes = [n[0] for n in names]
    numbers = np.random.default_rng([seed, 4]).choice(90000, n_test, replace=False) + 10000
    stems = ([f"{int(n)}_{SITES[i % 4]}_2019{(i % 12) + 1:02d}{(i % 27) + 1:02d}"
              for i, n in enumerate(numbers)] if year == 2021
             else [f"soundscape_{int(n)}" for n in numbers])
    prob, plan = _train_plan(seed, n_species, n_train, duration)
    collections = ["XC"] * n_train
    if year == 2025:  # non-birds come from iNaturalist and the Colombian Sound Archive
        collections = [("iNat", "CSA")[p["xc"] % 2] if names[p["primary"]][3] != "Aves"
                       else ("XC", "XC", "iNat")[p["xc"] % 3] for p in plan]
    audio_dir = tmp / ("train_short_audio" if year == 2021 else "train_audio")
    files = [f"{codes[p['primary']]}/{c}{p['xc']}.ogg" for p, c in zip(plan, collections)]
    for code in {codes[p["primary"]] for p in plan}:
        (audio_dir / code).mkdir(parents=True)
    (tmp / "test_soundscapes").mkdir()
    unlabeled = UNLABELED.get(year)
    n_unlabeled = n_test if year == 2021 else 2 * n_test if unlabeled else 0
    if unlabeled:
        (tmp / unlabeled).mkdir()
    # 2021's train_soundscapes are labelled and named as its test soundscapes
    numbers = np.random.default_rng([seed, 5]).choice(90000, n_unlabeled, replace=False) + 10000
    extra = [f"{int(n)}_{SITES[(i + 1) % 4]}_2020{(i % 12) + 1:02d}01" if year == 2021
             else f"unlabeled_{i}" for i, n in enumerate(numbers)]

    def write_train(i, audio):
        _write_blocks(audio_dir / files[i], audio, sr, "OGG", "VORBIS")

    def write_test(i, audio):
        where = (tmp / "test_soundscapes" / f"{stems[i]}.ogg" if i < n_test
                 else tmp / unlabeled / f"{extra[i - n_test]}.ogg")
        _write_blocks(where, audio, sr, "OGG", "VORBIS")

    scapes = _render_weak(seed, prob, plan, n_test + n_unlabeled, duration, sr, write_train,
                          write_test)
    tests = scapes[:n_test]
    if year == 2021:
        labels = ["row_id,site,audio_id,seconds,birds"]
        for stem, (length, events) in zip(extra, scapes[n_test:]):
            audio_id, site = stem.split("_")[:2]
            for end in range(CHUNK, CHUNK * _n_rows(length, sr) + 1, CHUNK):
                heard = _heard(events, end - CHUNK, end)
                labels.append(f"{audio_id}_{site}_{end},{site},{audio_id},{end},"
                              + _birds(codes, heard))
        _write_text(tmp / "train_soundscape_labels.csv", labels)
    _write_train_table(tmp, year, plan, names, files, collections)
    if year == 2022:  # every other class is scored, as 21 of 2022's 152
        (tmp / "scored_birds.json").write_text(json.dumps(codes[::2]))
    order = np.argsort(stems, kind="stable")  # the competition's order: file, then time
    rows = [(stems[i], end, set(_heard(tests[i][1], end - CHUNK, end))) for i in order
            for end in range(CHUNK, CHUNK * _n_rows(tests[i][0], sr) + 1, CHUNK)]
    if year == 2021:
        test = ["row_id,site,audio_id,seconds"]
        sample, solution = ["row_id,birds"], ["row_id,birds"]
        for stem, end, heard in rows:
            audio_id, site = stem.split("_")[:2]
            test.append(f"{audio_id}_{site}_{end},{site},{audio_id},{end}")
            sample.append(f"{audio_id}_{site}_{end},nocall")
            solution.append(f"{audio_id}_{site}_{end},{_birds(codes, heard)}")
        _write_text(tmp / "test.csv", test)
    elif year == 2022:
        test, sample, solution = ["row_id,file_id,bird,end_time"], ["row_id,target"], [
            "row_id,target"]
        for stem, end, heard in rows:
            for k in range(0, n_species, 2):
                test.append(f"{stem}_{codes[k]}_{end},{stem},{codes[k]},{end}")
                sample.append(f"{stem}_{codes[k]}_{end},False")
                solution.append(f"{stem}_{codes[k]}_{end},{k in heard}")
        _write_text(tmp / "test.csv", test)
    else:
        head = "row_id," + ",".join(codes)
        sample, solution = [head], [head]
        for stem, end, heard in rows:
            sample.append(f"{stem}_{end}" + ",0" * n_species)
            solution.append(f"{stem}_{end}" + "".join(f",{int(k in heard)}"
                                                      for k in range(n_species)))
    _write_text(tmp / "sample_submission.csv", sample)
    _write_text(out_dir.with_name(out_dir.name + ".solution.csv"), solution)
    return _publish(tmp, out_dir)


def _n_rows(length: float, sr: int) -> int:
    """5-s rows covering a soundscape of `length` s, the last one possibly partial."""
    return max(1, int(np.ceil(round(length * sr) / (CHUNK * sr))))


def _write_train_table(tmp: Path, year: int, plan: list[dict], names, files: list[str],
                       collections: list[str]) -> None:
    """The year's table of training recordings and its taxonomy file."""
    codes = [n[0] for n in names]
    rows = []
    for p, f, c in zip(plan, files, collections):
        code, sci, common, _ = names[p["primary"]]
        rows.append({
            "primary_label": code, "type": "['song']", "scientific_name": sci,
            "common_name": common, "author": p["author"], "license": "Creative Commons",
            "secondary_labels": _label_list([codes[k] for k in p["secondary"]] + (
                [OUTSIDER[0]] if p["outsider"] else [])),
            "filename": f.split("/")[1] if year == 2021 else f,  # 2021's are bare
            "latitude": 6.9 if year == 2025 else 10.5, "longitude": -74.1 if year == 2025
            else 76.5, "date": "2019-06-01", "time": "08:00",
            # 2025's iNat and CSA files carry no rating (0.0) and no url
            "rating": 4.0 if c == "XC" else 0.0, "collection": c,
            "url": f"https://xeno-canto.org/{p['xc']}" if c == "XC" else ""})
    table = pd.DataFrame(rows)[TRAIN_COLUMNS[year]]
    table.to_csv(tmp / ("train.csv" if year == 2025 else "train_metadata.csv"), index=False)
    if year == 2025:
        pd.DataFrame([{"primary_label": c,
                       "inat_taxon_id": int(c) if c.isdigit() else 1000 + 37 * k,
                       "scientific_name": sci, "common_name": common, "class_name": cls}
                      for k, (c, sci, common, cls) in enumerate(names)]
                     ).to_csv(tmp / "taxonomy.csv", index=False)
    elif year >= 2022:
        pd.DataFrame([{"TAXON_ORDER": k + 1, "CATEGORY": "species", "SPECIES_CODE": c,
                       "PRIMARY_COM_NAME": common, "SCI_NAME": sci, "ORDER1": "Passeriformes",
                       "FAMILY": "Demoidae (Demo Birds)", "SPECIES_GROUP": "",
                       "REPORT_AS": ""} for k, (c, sci, common, _) in enumerate(names)]
                     ).to_csv(tmp / "eBird_Taxonomy_v2021.csv", index=False)


LAYOUTS = {"rfcx": make_rfcx_demo, "cornell2020": make_cornell2020_demo,
           "birdclef": make_birdclef_demo, "birdclef2021": make_birdclef2021_demo,
           "birdclef2022": make_birdclef2022_demo, "birdclef2023": make_birdclef_demo,
           "birdclef2024": make_birdclef2024_demo, "birdclef2025": make_birdclef2025_demo}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--layout", choices=sorted(LAYOUTS), default="rfcx",
                    help="competition format to imitate")
    ap.add_argument("--out", required=True, help="competition folder to create, e.g. input/rfcx-demo")
    ap.add_argument("--seed", type=int, default=0)
    # size defaults belong to each layout (a 40-file test set is RFCX-like, not Cornell-like)
    ap.add_argument("--n-species", type=int, help="default: per layout (12)")
    ap.add_argument("--n-train", type=int, help="train files; default: per layout")
    ap.add_argument("--n-test", type=int, help="test recordings/soundscapes; default: per layout")
    ap.add_argument("--duration", type=float, help="seconds per recording; default: per layout")
    ap.add_argument("--sr", type=int, help="sample rate; default: per layout")
    ap.add_argument("--force", action="store_true", help="overwrite an existing --out folder")
    a = ap.parse_args(argv)
    make = LAYOUTS[a.layout]
    given = {k: getattr(a, k) for k in ("n_species", "n_train", "n_test", "duration", "sr")
             if getattr(a, k) is not None}
    sizes = {**{k: p.default for k, p in inspect.signature(make).parameters.items()}, **given}
    t0 = time.time()
    try:
        out = make(a.out, seed=a.seed, force=a.force, **given)
    except FileExistsError as e:
        sys.exit(f"make_demo: {e}")
    print(f"wrote {out} ({a.layout}: {sizes['n_train']} train / {sizes['n_test']} test, "
          f"{sizes['n_species']} species) in {time.time() - t0:.1f}s; "
          f"test labels in {out.name}.solution.csv")


if __name__ == "__main__":
    run_script(main)
