"""Tests for the synthetic RFCX-style demo competition generator (src/make_demo.py)."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from make_demo import main, make_rfcx_demo

TINY = dict(n_species=3, n_train=6, n_test=3, duration=4.0, sr=16000)
TP_COLS = ["recording_id", "species_id", "songtype_id", "t_min", "f_min", "t_max", "f_max"]


def _solution(out: Path) -> Path:
    return out.with_name(out.name + ".solution.csv")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "rfcx-demo"
    t0 = time.perf_counter()
    assert make_rfcx_demo(out, seed=0, **TINY) == out
    assert time.perf_counter() - t0 < 3.0  # < 1 s normally; slack for loaded CI machines
    return out


def test_layout_and_columns(tiny: Path) -> None:
    train = sorted(p.stem for p in (tiny / "train").glob("*.flac"))
    test = sorted(p.stem for p in (tiny / "test").glob("*.flac"))
    assert len(train) == TINY["n_train"] and len(test) == TINY["n_test"]
    ids = train + test
    assert len(set(ids)) == len(ids)
    assert all(len(r) == 9 and all(c in "0123456789abcdef" for c in r) for r in ids)
    assert not tiny.with_name(tiny.name + ".tmp").exists()

    species_cols = [f"s{k}" for k in range(TINY["n_species"])]
    for name in ("train_tp.csv", "train_fp.csv"):
        df = pd.read_csv(tiny / name, dtype={"recording_id": str})
        assert list(df.columns) == TP_COLS
        assert set(df.recording_id) <= set(train)
    sub = pd.read_csv(tiny / "sample_submission.csv", dtype={"recording_id": str})
    assert list(sub.columns) == ["recording_id"] + species_cols
    assert list(sub.recording_id) == test  # one row per test file, sorted
    assert (sub[species_cols] == 0).all().all()

    sol = pd.read_csv(_solution(tiny), dtype={"recording_id": str})
    assert list(sol.columns) == ["recording_id"] + species_cols
    assert list(sol.recording_id) == test
    assert set(np.unique(sol[species_cols].to_numpy())) <= {0, 1}

    for rid in train[:2] + test[:1]:
        split = "train" if rid in train else "test"
        info = sf.info(str(tiny / split / f"{rid}.flac"))
        assert (info.samplerate, info.channels, info.subtype) == (TINY["sr"], 1, "PCM_16")
        assert info.frames == int(TINY["duration"] * TINY["sr"])


def test_events_valid_and_species_covered(tiny: Path) -> None:
    tp = pd.read_csv(tiny / "train_tp.csv")
    fp = pd.read_csv(tiny / "train_fp.csv")
    for df in (tp, fp):
        assert (df.t_min >= 0).all() and (df.t_min < df.t_max).all()
        assert (df.t_max <= TINY["duration"]).all()
        assert (df.f_min < df.f_max).all() and (df.f_max < TINY["sr"] / 2).all()
        assert df.species_id.between(0, TINY["n_species"] - 1).all()
        assert df.songtype_id.isin([1, 4]).all()
    assert set(tp.species_id) == set(range(TINY["n_species"]))
    # a false positive of species k never sits in a recording where k is truly present
    present = set(zip(tp.recording_id, tp.species_id))
    assert not any((r, k) in present for r, k in zip(fp.recording_id, fp.species_id))


def test_deterministic(tiny: Path, tmp_path: Path) -> None:
    again = make_rfcx_demo(tmp_path / "a", seed=0, **TINY)
    other = make_rfcx_demo(tmp_path / "b", seed=1, **TINY)
    for name in ("train_tp.csv", "train_fp.csv", "sample_submission.csv"):
        assert (tiny / name).read_bytes() == (again / name).read_bytes()
    assert _solution(tiny).read_bytes() == _solution(again).read_bytes()
    files = sorted((tiny / "train").glob("*.flac")) + sorted((tiny / "test").glob("*.flac"))
    for f in files:
        a, _ = sf.read(str(f), dtype="int16")
        b, _ = sf.read(str(again / f.parent.name / f.name), dtype="int16")
        assert np.array_equal(a, b)
    assert (tiny / "train_tp.csv").read_bytes() != (other / "train_tp.csv").read_bytes()
    assert sorted(p.name for p in (tiny / "train").iterdir()) != sorted(p.name for p in (other / "train").iterdir())


def test_train_independent_of_n_test(tiny: Path, tmp_path: Path) -> None:
    more = make_rfcx_demo(tmp_path / "c", seed=0, **{**TINY, "n_test": 5})
    assert (tiny / "train_tp.csv").read_bytes() == (more / "train_tp.csv").read_bytes()


def test_refuses_existing_unless_force(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "d"
    out.mkdir()
    with pytest.raises(FileExistsError):
        make_rfcx_demo(out, **TINY)
    with pytest.raises(SystemExit):
        main(["--out", str(out), "--n-species", "3", "--n-train", "6", "--n-test", "3",
              "--duration", "4", "--sr", "16000"])
    main(["--out", str(out), "--n-species", "3", "--n-train", "6", "--n-test", "3",
          "--duration", "4", "--sr", "16000", "--force"])
    assert (out / "train_tp.csv").exists() and _solution(out).exists()


def _power_spec(x: np.ndarray, n_fft: int = 512, hop: int = 128) -> np.ndarray:
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::hop] * np.hanning(n_fft)
    return np.abs(np.fft.rfft(frames, axis=1)) ** 2  # (frames, bins)


def test_audio_carries_the_calls(tmp_path: Path) -> None:
    cfg = {**TINY, "n_train": 12}
    out = make_rfcx_demo(tmp_path / "e", seed=3, **cfg)
    sr, hop, n_fft = cfg["sr"], 128, 512
    tp = pd.read_csv(out / "train_tp.csv", dtype={"recording_id": str})
    fp = pd.read_csv(out / "train_fp.csv", dtype={"recording_id": str})
    events = pd.concat([tp, fp])
    rng = np.random.default_rng(0)
    freqs = np.fft.rfftfreq(n_fft, 1 / sr)
    gains = []
    for ev in tp.itertuples():
        x, _ = sf.read(str(out / "train" / f"{ev.recording_id}.flac"))
        spec = _power_spec(x, n_fft, hop)
        band = (freqs >= ev.f_min) & (freqs <= ev.f_max)
        length = int(np.ceil((ev.t_max - ev.t_min) * sr / hop))
        f0 = int(ev.t_min * sr / hop)
        busy = events[events.recording_id == ev.recording_id]
        for _ in range(50):  # a stretch of the same length with no event in it
            s = int(rng.integers(0, len(spec) - length))
            t0, t1 = s * hop / sr, (s + length) * hop / sr + n_fft / sr
            if not ((busy.t_min < t1) & (busy.t_max > t0)).any():
                quiet = spec[s:s + length, band].mean()
                if quiet > 0:  # skip digital-zero blocks
                    gains.append(10 * np.log10(spec[f0:f0 + length, band].mean() / quiet))
                break
    assert len(gains) >= 5
    assert np.mean(gains) > 3.0, gains
