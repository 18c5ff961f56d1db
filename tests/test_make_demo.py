"""Tests for the synthetic RFCX-style demo competition generator (src/make_demo.py)."""
from __future__ import annotations

import ast
import inspect
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

import make_demo
from make_demo import LAYOUTS, main, make_birdclef_demo, make_cornell2020_demo, make_rfcx_demo

TINY = dict(n_species=3, n_train=6, n_test=3, duration=4.0, sr=16000)
TP_COLS = ["recording_id", "species_id", "songtype_id", "t_min", "f_min", "t_max", "f_max"]


def _solution(out: Path) -> Path:
    return out.with_name(out.name + ".solution.csv")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "rfcx-demo"
    assert make_rfcx_demo(out, seed=0, **TINY) == out
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


@pytest.mark.parametrize("duration", [1.0, 0.5])
def test_short_clips_hold_their_events(tmp_path: Path, duration: float) -> None:
    for seed in range(6):  # seeds that draw rain bursts and zero blocks longer than the clip
        out = make_rfcx_demo(tmp_path / f"s{seed}", seed=seed, **{**TINY, "duration": duration,
                                                                  "sr": 8000, "n_train": 8})
        tp = pd.read_csv(out / "train_tp.csv")
        assert (tp.t_max <= duration).all() and (tp.t_min < tp.t_max).all()
        for f in (out / "train").glob("*.flac"):
            assert sf.info(str(f)).frames == int(duration * 8000)


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


# --- weak-label layouts: Cornell 2020 and BirdCLEF -----------------------------------------

WEAK = dict(n_species=3, n_train=6, n_test=2, duration=4.0, sr=16000)  # soundscapes 12 s, 18 s


def _weak_demo(tmp_path_factory, make, name: str) -> Path:
    out = tmp_path_factory.mktemp("demo") / name
    assert make(out, seed=0, **WEAK) == out  # (no timing here: shared CPUs are noisy)
    return out


@pytest.fixture(scope="module")
def cornell(tmp_path_factory) -> Path:
    return _weak_demo(tmp_path_factory, make_cornell2020_demo, "cornell-demo")


@pytest.fixture(scope="module")
def birdclef(tmp_path_factory) -> Path:
    return _weak_demo(tmp_path_factory, make_birdclef_demo, "birdclef-demo")


def test_layouts_registry_and_signature() -> None:
    assert set(LAYOUTS) == {"rfcx", "cornell2020", "birdclef",
                            *(f"birdclef{y}" for y in range(2021, 2026))}
    want = list(inspect.signature(make_rfcx_demo).parameters)
    for make in LAYOUTS.values():
        assert list(inspect.signature(make).parameters) == want


def test_cli_leaves_sizes_to_the_layout(tmp_path: Path, monkeypatch) -> None:
    """No size flag -> the layout's own defaults (rfcx keeps 120/40/20 s/48 kHz)."""
    calls = []

    def spy(out_dir, **given):
        calls.append(given)
        return Path(out_dir)

    spy.__signature__ = inspect.signature(make_rfcx_demo)  # what main reads the defaults from
    monkeypatch.setitem(LAYOUTS, "rfcx", spy)
    main(["--out", str(tmp_path / "x")])
    main(["--out", str(tmp_path / "y"), "--n-train", "7", "--sr", "8000"])
    assert calls == [{"seed": 0, "force": False},
                     {"seed": 0, "force": False, "n_train": 7, "sr": 8000}]


def test_cornell_layout(cornell: Path) -> None:
    codes = [c for c, _, _ in make_demo._names(WEAK["n_species"])]
    train = pd.read_csv(cornell / "train.csv", dtype=str)
    assert {"ebird_code", "filename", "secondary_labels", "primary_label", "sci_name", "species",
            "author", "duration"} <= set(train.columns)
    assert len(train) == WEAK["n_train"] and sorted(train.ebird_code.unique()) == codes
    assert train.filename.is_unique and train.filename.str.fullmatch(r"XC\d+\.(mp3|wav)").all()
    ext = "mp3" if make_demo._mp3_writable(cornell, WEAK["sr"]) else "wav"
    assert (train.filename.str.rsplit(".", n=1).str[1] == ext).all()
    names = set(train.primary_label) | {"Passer domesticus_House Sparrow"}
    for code, name, sec, fname, dur in zip(train.ebird_code, train.primary_label,
                                           train.secondary_labels, train.filename, train.duration):
        assert name == train[train.ebird_code == code].primary_label.iloc[0]
        assert set(ast.literal_eval(sec)) <= names - {name}
        info = sf.info(str(cornell / "train_audio" / code / fname))
        assert (info.samplerate, info.channels) == (WEAK["sr"], 1)
        assert abs(info.duration - float(dur)) <= 0.5 and 1.0 <= info.duration <= 12.5

    test = pd.read_csv(cornell / "test.csv", dtype=str)
    assert list(test.columns) == ["site", "row_id", "seconds", "audio_id"]
    chunks = test[test.site == "site_1"]
    clips = test[test.site == "site_3"]
    assert len(clips) == 1 and clips.seconds.isna().all()
    assert clips.row_id.tolist() == [f"site_3_{clips.audio_id.iloc[0]}"]
    assert chunks.audio_id.nunique() == WEAK["n_test"]
    for aid, rows in chunks.groupby("audio_id", sort=False):
        length = sf.info(str(cornell / "test_audio" / f"{aid}.{ext}")).duration
        ends = [5 * (k + 1) for k in range(int(length // 5))]  # complete 5-s chunks
        assert rows.seconds.astype(float).tolist() == ends
        assert rows.row_id.tolist() == [f"site_1_{aid}_{e}" for e in ends]
    assert sorted(round(sf.info(str(cornell / "test_audio" / f"{a}.{ext}")).duration)
                  for a in chunks.audio_id.unique()) == [12, 18]
    sol = pd.read_csv(_solution(cornell), dtype=str)
    assert list(sol.columns) == ["row_id", "birds"]
    assert sol.row_id.tolist() == test.row_id.tolist()
    tokens = {t for b in sol.birds for t in b.split()}
    assert tokens <= set(codes) | {"nocall"} and tokens - {"nocall"}


def test_birdclef_layout(birdclef: Path) -> None:
    codes = [c for c, _, _ in make_demo._names(WEAK["n_species"])]
    meta = pd.read_csv(birdclef / "train_metadata.csv", dtype=str)
    assert {"primary_label", "secondary_labels", "filename", "author", "scientific_name",
            "common_name"} <= set(meta.columns)
    assert len(meta) == WEAK["n_train"] and sorted(meta.primary_label.unique()) == codes
    assert (meta.filename.str.split("/").str[0] == meta.primary_label).all()
    assert meta.filename.str.fullmatch(r"[a-z0-9]+/XC\d+\.ogg").all()
    for label, sec, fname in zip(meta.primary_label, meta.secondary_labels, meta.filename):
        assert set(ast.literal_eval(sec)) <= (set(codes) | {"houspa"}) - {label}
        info = sf.info(str(birdclef / "train_audio" / fname))
        assert (info.format, info.subtype, info.samplerate) == ("OGG", "VORBIS", WEAK["sr"])

    files = sorted((birdclef / "test_soundscapes").glob("*.ogg"))
    assert len(files) == WEAK["n_test"]
    expected = []
    for f in files:
        info = sf.info(str(f))
        n_rows = -(-info.frames // (5 * info.samplerate))
        expected += [f"{f.stem}_{5 * (k + 1)}" for k in range(n_rows)]
    assert len(expected) == 3 + 4  # 12 s and 18 s
    sample = pd.read_csv(birdclef / "sample_submission.csv", dtype={"row_id": str})
    assert list(sample.columns) == ["row_id"] + codes
    assert sample.row_id.tolist() == expected and (sample[codes] == 0).all().all()
    sol = pd.read_csv(_solution(birdclef), dtype={"row_id": str})
    assert list(sol.columns) == ["row_id"] + codes and sol.row_id.tolist() == expected
    assert set(np.unique(sol[codes])) <= {0, 1} and sol[codes].to_numpy().sum() > 0


def test_weak_layouts_deterministic(cornell: Path, birdclef: Path, tmp_path: Path) -> None:
    again = make_cornell2020_demo(tmp_path / "c", seed=0, **WEAK)
    other = make_birdclef_demo(tmp_path / "b1", seed=1, **WEAK)
    more = make_birdclef_demo(tmp_path / "b", seed=0, **{**WEAK, "n_test": 3})
    for name in ("train.csv", "test.csv"):
        assert (cornell / name).read_bytes() == (again / name).read_bytes()
    assert _solution(cornell).read_bytes() == _solution(again).read_bytes()
    for f in sorted((cornell / "test_audio").iterdir()) + sorted((cornell / "train_audio").rglob("*.*")):
        a, _ = sf.read(str(f), dtype="int16")
        b, _ = sf.read(str(again / f.relative_to(cornell)), dtype="int16")
        assert np.array_equal(a, b), f
    # the train side does not depend on the number of test soundscapes; the seed matters
    assert (birdclef / "train_metadata.csv").read_bytes() == (more / "train_metadata.csv").read_bytes()
    assert (birdclef / "train_metadata.csv").read_bytes() != (other / "train_metadata.csv").read_bytes()
    assert len(list((more / "test_soundscapes").glob("*.ogg"))) == 3


def test_weak_layouts_refuse_existing_and_cli(tmp_path: Path) -> None:
    out = tmp_path / "b"
    out.mkdir()
    args = ["--layout", "birdclef", "--out", str(out), "--n-species", "2", "--n-train", "2",
            "--n-test", "1", "--duration", "2", "--sr", "8000"]
    with pytest.raises(SystemExit):
        main(args)
    main(args + ["--force"])
    assert (out / "train_metadata.csv").exists() and (out / "sample_submission.csv").exists()
    assert _solution(out).exists() and not out.with_name("b.tmp").exists()
    with pytest.raises(FileExistsError):
        make_cornell2020_demo(out, **WEAK)
