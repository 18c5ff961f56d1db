"""Generate a small synthetic competition laid out like Kaggle's RFCX 2021 bird/frog task.

The real Rainforest Connection data is tens of GB behind a Kaggle login, so a fresh
machine (CI, a reviewer's laptop) could not otherwise run the pipeline end to end. This
script writes, deterministically from a seed, a miniature competition with the same file
layout and CSV schemas (train/test FLACs, strong labels in train_tp.csv, template-matching
false positives in train_fp.csv, sample_submission.csv) plus a hidden `<out>.solution.csv`
beside it so the true test score can be printed. The audio is built to be bird-like and not
trivially separable: calls come from several families with per-call variation, some species
are near-twins, calls sit at low SNR over a drifting rainforest-like background, and
look-alikes of absent species are mixed in, so a model has to learn something real.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import soundfile as sf

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


def _make_recording(rng, rid, present, species, duration, sr, hi):
    """Mix one recording. Returns (audio float32, tp rows, fp rows)."""
    n, margin = int(round(duration * sr)), int(0.05 * sr)
    bg = _background(rng, n, sr, hi)
    x, tp, fp, busy = bg.copy(), [], [], []
    for k in present:
        own: list = []
        for _ in range(int(rng.integers(1, 5))):
            st = 1 if len(species[k]) > 1 and rng.random() < 0.3 else 0
            wave, f1, f2 = _render_call(species[k][st], sr, rng, 0.4 * duration)
            s = _free_start(rng, n, len(wave), margin, own)
            if s is not None:
                own.append((s, s + len(wave)))
                _mix(x, bg, wave, s, f1, f2, rng.uniform(-3, 20), sr)
                tp.append((rid, k, 4 if st else 1, s / sr, f1, (s + len(wave)) / sr, f2))
        busy += own
    absent = [k for k in range(len(species)) if k not in present]
    for _ in range(int(rng.choice(3, p=[0.25, 0.45, 0.3]))):
        kind = rng.choice(["lookalike", "click", "rain", "chirp"], p=[0.45, 0.2, 0.15, 0.2])
        if kind in ("click", "rain"):
            wave, f1, f2 = _noise_event(kind, rng, sr), F_LO, hi
        elif kind == "lookalike" and absent:
            k = absent[int(rng.integers(len(absent)))]
            tpl = dict(_perturb(species[k][0], rng, hi), reverse=bool(rng.random() < 0.3))
            wave, f1, f2 = _render_call(tpl, sr, rng, 0.4 * duration)
        else:
            kind = "chirp"
            tpl = dict(_draw("sweep", rng, hi), dur=rng.uniform(0.05, 0.25))
            wave, f1, f2 = _render_call(tpl, sr, rng, 0.4 * duration)
        s = int(rng.integers(margin, max(margin + 1, n - len(wave) - margin)))
        _mix(x, bg, wave, s, f1, f2, rng.uniform(0, 15), sr)
        if kind == "lookalike":
            fp.append((rid, k, 1, s / sr, f1, (s + len(wave)) / sr, f2))
    if rng.random() < 0.08:  # a block of exact digital zeros, off the annotated calls
        length = int(rng.uniform(0.5, min(2.0, 0.3 * duration)) * sr)
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
    plan = np.random.default_rng([seed, 1])
    weights = plan.permutation(np.linspace(1.0, 2.0, n_species))  # up to 2x imbalance
    prob = weights / weights.sum()
    counts = np.floor(n_train * prob).astype(int)  # guaranteed primary appearances per species
    counts[np.argsort(-(n_train * prob - counts), kind="stable")[: n_train - counts.sum()]] += 1
    primaries = plan.permutation(np.repeat(np.arange(n_species), counts))
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


LAYOUTS = {"rfcx": make_rfcx_demo}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--layout", choices=sorted(LAYOUTS), default="rfcx",
                    help="competition format to imitate")
    ap.add_argument("--out", required=True, help="competition folder to create, e.g. input/rfcx-demo")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-species", type=int, default=12)
    ap.add_argument("--n-train", type=int, default=120)
    ap.add_argument("--n-test", type=int, default=40)
    ap.add_argument("--duration", type=float, default=20.0, help="seconds per recording")
    ap.add_argument("--sr", type=int, default=48000)
    ap.add_argument("--force", action="store_true", help="overwrite an existing --out folder")
    a = ap.parse_args(argv)
    t0 = time.time()
    try:
        out = LAYOUTS[a.layout](a.out, a.seed, a.n_species, a.n_train, a.n_test, a.duration, a.sr, a.force)
    except FileExistsError as e:
        sys.exit(f"make_demo: {e}")
    print(f"wrote {out} ({a.n_train} train / {a.n_test} test, {a.n_species} species) "
          f"in {time.time() - t0:.1f}s; test labels in {out.name}.solution.csv")


if __name__ == "__main__":
    main()
