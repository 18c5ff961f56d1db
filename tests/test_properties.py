"""Property-based tests (hypothesis) of what bad input reaches first: the audio loader, the crop
and target builder, and the CSV readers. Each draws many small cases, including edge ones
(empty files, NaN samples, crops longer than the recording, quoted newlines in a CSV)."""
import csv
import io
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from audio import AudioError, cache_audio, decode, open_cached, stream_wave
from competitions.rfcx import Rfcx
from competitions.tables import line_of, read_table, require_filled
from datasets import SedDataset, choose_crop

RATES = [8000, 11025, 16000, 22050, 32000, 44100, 48000, 88200, 96000]
# The same examples on every run (drawn from a hash of each test, no example database), so CI
# never passes or fails by the luck of the draw.
settings.register_profile(
    "deterministic", derandomize=True, database=None, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
FAST = settings(settings.get_profile("deterministic"), max_examples=40)


# --- the audio loader --------------------------------------------------------------------------

@FAST
@given(rate=st.sampled_from(RATES), target=st.sampled_from([8000, 16000, 32000]),
       channels=st.integers(1, 2), n=st.integers(0, 4000), as_float=st.booleans(),
       bad=st.lists(st.tuples(st.integers(0, 3999), st.sampled_from([np.nan, np.inf, -np.inf])),
                    max_size=6),
       seed=st.integers(0, 2**16), chunk=st.integers(50, 5000))
def test_loader_gives_finite_mono_of_the_right_length(rate, target, channels, n, as_float, bad,
                                                      seed, chunk):
    x = np.clip(np.random.default_rng(seed).normal(0, 0.3, (n, channels)), -1, 1)
    x = x.astype(np.float32)
    if as_float:  # only a float file can hold NaN/inf
        for i, v in bad:
            if i < n:
                x[i, seed % channels] = v
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / ("x.wav" if as_float else "x.flac")
        sf.write(src, x, rate, subtype="FLOAT" if as_float else "PCM_16")
        if n == 0:  # (a FLAC of no frames is a file of no bytes)
            with pytest.raises(AudioError, match=r"no audio samples|empty file \(0 bytes\)"):
                cache_audio(src, Path(tmp) / "x.npy", target)
            assert not (Path(tmp) / "x.npy").exists()
            return
        try:
            report = cache_audio(src, Path(tmp) / "x.npy", target)
        except AudioError as e:  # less than one sample at the target rate
            assert str(e) == "no audio samples" and n * target / rate < 1
            return
        cached = np.asarray(open_cached(Path(tmp) / "x.npy"))
        wave = decode(src, target)
        pieces = np.concatenate(list(stream_wave(src, target, chunk=chunk)))
    assert wave.dtype == np.float32 and wave.ndim == 1 and np.isfinite(wave).all()
    assert abs(len(wave) - n * target / rate) <= 1 and len(cached) == len(wave)
    assert report.non_finite == int((~np.isfinite(x.mean(axis=1))).sum())
    finite = np.where(np.isfinite(x), x, 0)
    assert np.abs(wave).max() <= 2 * np.abs(finite).max() + 1e-3  # no blow-up from the resampler
    assert np.array_equal(cached, np.clip(np.round(wave * 32767), -32768, 32767))
    assert np.allclose(pieces, wave, atol=1e-5)  # any piece size: the same wave


@FAST
@given(data=st.binary(max_size=400))
def test_loader_refuses_arbitrary_bytes_with_a_reason(data):
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "x.ogg"
        src.write_bytes(data)
        try:
            cache_audio(src, Path(tmp) / "x.npy", 16000)
        except AudioError as e:
            assert str(e) and not (Path(tmp) / "x.npy").exists()
        else:  # some bytes do decode (a raw header and a few samples): then the cache is whole
            assert len(open_cached(Path(tmp) / "x.npy")) > 0


# --- crops and targets ---------------------------------------------------------------------------

@FAST
@given(n=st.integers(0, 5000), crop=st.integers(1, 3000), a=st.integers(0, 5000),
       length=st.integers(1, 5000), seed=st.integers(0, 2**16))
def test_crop_holds_the_event_or_lies_inside_it(n, crop, a, length, seed):
    start, end = a, a + length
    s = choose_crop(n, crop, start, end, np.random.default_rng(seed))
    assert 0 <= s <= max(0, n - crop)  # inside the recording (at 0 when shorter than a crop)
    assume(end <= n and crop <= n)  # the event lies inside a recording that holds a crop
    if length <= crop:
        assert s <= start and end <= s + crop
    else:
        assert start <= s and s + crop <= end


def halves(lo: int, hi: int) -> st.SearchStrategy[float]:
    """Seconds on a 0.5-s grid (exact in binary): events then often touch the crop's edges or
    overlap it by exactly min_overlap, where > and >= differ."""
    return st.integers(lo, hi).map(lambda k: k / 2)


# (weak, negative): a timed call, a weak label (the whole file), a known absence
CALL, WEAK, ABSENCE = (False, False), (True, False), (False, True)
events_strategy = st.lists(st.tuples(
    st.integers(0, 2),  # class
    halves(0, 12), halves(1, 6),  # start (0-6 s), length (0.5-3 s)
    st.sampled_from([CALL, CALL, WEAK, ABSENCE]),  # timed calls, whose edges matter, half
).map(lambda e: (*e[:3], *e[3])), max_size=6)


@settings(FAST, max_examples=100)
@given(events=events_strategy, t_start=halves(0, 12),
       min_overlap=st.sampled_from([0.0, 0.5, 1.0]))
def test_targets_are_the_classes_whose_calls_overlap_the_crop(events, t_start, min_overlap):
    table = pd.DataFrame([{"id": "r", "cls": k, "t_min": 0.0 if weak else a,
                           "t_max": np.inf if weak else a + d, "negative": neg}
                          for k, a, d, weak, neg in events],
                         columns=["id", "cls", "t_min", "t_max", "negative"])
    recs = pd.DataFrame({"id": ["r"], "cache_path": ["unused.npy"], "labels": [[0]]})
    ds = SedDataset(recs, table, 3, 100, 2.0, 10, min_overlap=min_overlap)
    target, weight, frames = ds.targets(0, t_start)
    t_end = t_start + 2.0
    for k in range(3):
        expected = any(not neg and min(b, t_end) - max(a, t_start) > min_overlap
                       for c, a, b, neg in table[["cls", "t_min", "t_max", "negative"]]
                       .itertuples(index=False) if c == k)
        assert target[k] == float(expected)
        assert frames[:, k].any() <= expected  # frame targets only under present classes
    assert frames.shape == (2.0 * 100 // 10 + 1, 3) and (weight == 1).all()


@FAST
@given(n=st.integers(1, 500), strong=st.booleans(), a=st.floats(0, 4),
       d=st.floats(0.05, 0.8), seed=st.integers(0, 2**16))
def test_a_crop_is_full_length_and_holds_its_call(n, strong, a, d, seed):
    """Whatever the recording's length (shorter than the crop included), an item is one crop
    of samples from the recording, zero-padded, whose target has the class of the call it was
    drawn around when that call fits in the crop and in the recording."""
    sr, crop_s = 100, 1.0
    wave = np.random.default_rng(seed).uniform(-0.5, 0.5, n).astype(np.float32)
    with tempfile.TemporaryDirectory() as tmp:
        np.save(Path(tmp) / "r.npy", np.round(wave * 32767).astype(np.int16))
        t0, t1 = (a, a + d) if strong else (0.0, np.inf)
        recs = pd.DataFrame({"id": ["r"], "cache_path": [str(Path(tmp) / "r.npy")],
                             "labels": [[1]]})
        events = pd.DataFrame({"id": ["r"], "cls": [1], "t_min": [t0], "t_max": [t1]})
        item = SedDataset(recs, events, 2, sr, crop_s, 10, seed=seed)[(0, seed)]
    x = item["wave"].numpy()
    assert x.shape == (sr,) and np.isfinite(x).all()
    if n <= sr:  # shorter than the crop: all of it, then zeros
        assert np.allclose(x[:n], wave, atol=1e-4) and not x[n:].any()
    inside = not strong or (t1 * sr <= n and t0 * sr < n)
    if inside and (not strong or int(t1 * sr) - int(t0 * sr) > 0):
        assert item["target"][1] == 1.0


# --- CSV readers ---------------------------------------------------------------------------------

cell = st.text(alphabet=st.sampled_from(list("ab1 ,\"\n'")), max_size=8)


@FAST
@given(rows=st.lists(st.tuples(st.text(alphabet="abc123", min_size=1, max_size=4), cell, cell),
                     min_size=1, max_size=8), bad=st.integers(0, 7))
def test_csv_errors_name_the_line_the_row_starts_on(rows, bad):
    """Quoted fields holding newlines and commas: a row's reported line is the line of the file
    where it starts, as an editor shows it."""
    bad = bad % len(rows)
    rows = [(i, a if r != bad else "", b) for r, (i, a, b) in enumerate(rows)]
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["id", "a", "b"])
    starts = []
    for row in rows:
        starts.append(1 + text.getvalue().count("\n"))  # the line this row starts on
        writer.writerow(row)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.csv"
        path.write_text(text.getvalue())
        df = read_table(path, ["id", "a", "b"])
        assert len(df) == len(rows) and df["id"].tolist() == [r[0] for r in rows]
        assert [line_of(path, i) for i in range(len(rows))] == starts
        first_empty = next(i for i, r in enumerate(rows) if not r[1].strip())
        with pytest.raises(SystemExit, match=rf"t\.csv line {starts[first_empty]}: empty a$"):
            require_filled(df, path, ["a"])


@FAST
@given(data=st.binary(max_size=300))
def test_any_bytes_as_csv_give_a_table_or_a_message_naming_the_file(data):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "t.csv"
        path.write_bytes(data)
        try:
            df = read_table(path, ["id"])
        except SystemExit as e:
            assert str(e).startswith(str(path))
        else:
            assert "id" in df.columns


def rfcx_dir(root: Path, tp_rows: list[str]) -> Path:
    for sub in ("train", "test"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "sample_submission.csv").write_text("recording_id,s0,s1,s2\nt1,0,0,0\n")
    (root / "train_tp.csv").write_text(
        "recording_id,species_id,songtype_id,t_min,f_min,t_max,f_max\n"
        + "".join(r + "\n" for r in tp_rows))
    return root


BROKEN = {"unknown species": ("r9,7,1,1.0,100,2.0,200", r"species_id '7' is not one of the 3"),
          "t_min >= t_max": ("r9,1,1,2.0,100,2.0,200", "needs 0 <= t_min < t_max"),
          "text time": ("r9,1,1,soon,100,2.0,200", "t_min is not a number"),
          "empty id": (",1,1,1.0,100,2.0,200", "empty recording_id")}


@FAST
@given(good=st.lists(st.tuples(st.integers(0, 2), st.floats(0, 50), st.floats(0.01, 10)),
                     max_size=6),
       at=st.integers(0, 6), kind=st.sampled_from(sorted(BROKEN)))
def test_rfcx_labels_stop_at_the_broken_row(good, at, kind):
    rows = [f"r{i},{k},1,{a:.3f},100,{a + d:.3f},200" for i, (k, a, d) in enumerate(good)]
    at = at % (len(rows) + 1)
    bad, message = BROKEN[kind]
    rows.insert(at, bad)
    with tempfile.TemporaryDirectory() as tmp:
        root = rfcx_dir(Path(tmp) / "comp", rows)
        with pytest.raises(SystemExit, match=rf"train_tp\.csv line {at + 2}: {message}"):
            Rfcx(root)
        rows.pop(at)
        rfcx_dir(root, rows)
        assert len(Rfcx(root).train_events()) == len(rows)  # the good rows alone load
