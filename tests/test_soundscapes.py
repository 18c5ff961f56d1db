"""Synthetic validation soundscapes (soundscapes.py): a call placed at a known time lands in the
right 5-s rows, with its species' sound where the rows say; no soundscape holds audio of a
recording the fold trains on; the same fold gives the same soundscapes."""
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from audio import open_cached, save_cached, to_float
from configs import ConfigError, load_config
from configs.base import audio_files, background_folder
from recordings import background_files, folder_files
from soundscapes import BACKGROUND_RMS, fold_soundscapes, render, row_labels

SR = 8000
TONES = {0: 600.0, 1: 1400.0, 2: 2600.0, 3: 3400.0}  # class -> its call's pitch (Hz)


def _recording(rng, cls: int, seconds: float) -> np.ndarray:
    """Faint noise, the class's pitch calling from its second second to its last but one (so
    any loud stretch is all call, and its quiet seconds are noise)."""
    t = np.arange(int(seconds * SR)) / SR
    x = 0.003 * rng.standard_normal(len(t))
    on = (t >= 1.0) & (t < seconds - 1.0)
    x[on] += 0.3 * np.sin(2 * np.pi * TONES[cls] * t[on])
    return x.astype(np.float32)


@pytest.fixture
def fold(tmp_path):
    """Validation recordings of classes 0-2; a training recording of class 3 sits in the same
    cache, which no soundscape may use."""
    rng = np.random.default_rng(0)
    rows = []
    for i, cls in enumerate([0, 1, 2, 0, 1, 2, 3]):
        path = tmp_path / "cache" / "train" / f"r{i}.npy"
        path.parent.mkdir(parents=True, exist_ok=True)
        save_cached(path, _recording(rng, cls, 6.0 + i))
        rows.append({"id": f"r{i}", "cache_path": str(path), "labels": [cls]})
    recs = pd.DataFrame(rows)
    cfg = SimpleNamespace(sample_rate=SR, seed=1, fold_seed=None, cache_dir=str(tmp_path / "cache"),
                          data_dir="x", negative_audio=None, distill_audio=None,
                          valid_soundscapes=dict(length=20.0, calls=(2, 3), seconds=(1.5, 3.0),
                                                 snr_db=(6.0, 12.0), uses=2))
    return cfg, recs.iloc[:6].reset_index(drop=True), recs


def _band_level(wave: np.ndarray, hz: float) -> float:
    """The spectrum's peak near `hz` over its median: a tone stands tens of times above."""
    spec = np.abs(np.fft.rfft(wave))
    f = np.fft.rfftfreq(len(wave), 1 / SR)
    return float(spec[(f > hz - 60) & (f < hz + 60)].max() / (np.median(spec) + 1e-9))


def test_row_labels_put_a_call_in_the_rows_it_overlaps():
    calls = [{"rec": 0, "seconds": 3.0, "at": 6.0},   # 6-9 s: row 1 only
             {"rec": 1, "seconds": 3.0, "at": 9.0},   # 9-12 s: rows 1 and 2 (1 s and 2 s)
             {"rec": 2, "seconds": 2.0, "at": 14.8}]  # 14.8-16.8: 0.2 s in row 2 is too little
    y = row_labels(calls, [0, 1, 2], 3, 20.0)
    assert y.shape == (4, 3)
    assert y.tolist() == [[0, 0, 0], [1, 1, 0], [0, 1, 0], [0, 0, 1]]


def test_calls_sound_in_the_rows_labelled_with_them(fold):
    cfg, valid, _ = fold
    paths, truth = fold_soundscapes(cfg, valid, 4)
    assert len(paths) >= 3 and all(len(y) == 4 for y in truth)
    labelled = 0
    for path, y in zip(paths, truth):
        wave = to_float(open_cached(path))
        assert len(wave) == 20 * SR
        for r in range(4):
            row = wave[r * 5 * SR:(r + 1) * 5 * SR]
            for cls in (0, 1, 2):
                level = _band_level(row, TONES[cls])
                if y[r, cls]:  # the species' pitch stands out where the row says it calls
                    labelled += 1
                    assert level > 30, (path, r, cls, level)
    assert labelled >= 6
    assert sum(y.sum() for y in truth) == labelled


def test_no_soundscape_holds_audio_the_fold_trains_on(fold):
    cfg, valid, recs = fold
    paths, truth = fold_soundscapes(cfg, valid, 4)
    assert all(y[:, 3].sum() == 0 for y in truth)  # class 3 is only in training audio
    for path in paths:
        wave = to_float(open_cached(path))
        assert _band_level(wave, TONES[3]) < 15  # and its pitch is nowhere (a call: > 70)
    # a fold that validates on the class-3 recording does hear it
    paths, truth = fold_soundscapes(cfg, recs.iloc[3:].reset_index(drop=True), 4)
    assert sum(y[:, 3].sum() for y in truth) >= 1


def test_same_fold_same_soundscapes_cached(fold):
    cfg, valid, recs = fold
    first = fold_soundscapes(cfg, valid, 4)
    again = fold_soundscapes(cfg, valid, 4)
    assert first[0] == again[0] and all(np.array_equal(a, b) for a, b in zip(first[1], again[1]))
    other = fold_soundscapes(cfg, recs.iloc[1:].reset_index(drop=True), 4)
    assert other[0][0] != first[0][0]  # another fold, its own soundscapes


def test_a_background_the_run_trains_on_is_refused_when_the_config_loads(tmp_path):
    spec = dict(length=60.0, calls=(3, 8), seconds=(2.0, 6.0), snr_db=(-6.0, 6.0), uses=2)
    noise = str(tmp_path)
    with pytest.raises(ConfigError, match="trains this run"):
        load_config("bird", {"negative_audio": noise,
                             "valid_soundscapes": {**spec, "background": noise}})
    with pytest.raises(ConfigError, match="trains this run"):
        load_config("birdclef2025", {"distill_audio": "soundscapes", "distill_weight": 1.0,
                                     "valid_soundscapes": {**spec, "background": "soundscapes"}})
    cfg = load_config("birdclef2025", {"valid_soundscapes": {**spec, "background": "soundscapes"}})
    assert background_folder(cfg) == "input/birdclef-2025/train_soundscapes"
    with pytest.raises(ConfigError, match="give each of"):
        load_config("bird", {"valid_soundscapes": {"length": 60.0}})
    with pytest.raises(ConfigError, match="soundscape view"):
        load_config("exp001", {"metric": "scape_auc"})  # RFCX: strong labels, no such view
    assert load_config("bird", {"metric": "scape_auc"}).metric == "scape_auc"


def test_a_named_background_is_the_noise_under_every_soundscape(fold, tmp_path):
    """The background folder's or pattern's files are the noise under every soundscape; a
    file cached from another pattern (in the same cache folder) is not."""
    cfg, valid, _ = fold
    t = np.arange(30 * SR) / SR
    tones = {"hum": 200.0, "whine": 3000.0}  # a generator's hum; another site's whine
    for name, hz in tones.items():
        tone = (0.05 * np.sin(2 * np.pi * hz * t)).astype(np.float32)
        sf.write(tmp_path / f"{name}.wav", tone, SR)
        save_cached(f"{cfg.cache_dir}/background/{name}.npy", tone)  # as prepare.py caches it
    quiet = fold_soundscapes(cfg, valid, 4)[0]
    cfg.valid_soundscapes = {**cfg.valid_soundscapes, "background": str(tmp_path / "h*.wav")}
    paths, truth = fold_soundscapes(cfg, valid, 4)
    assert paths != quiet  # other soundscapes, cached apart
    for path in paths:
        wave = to_float(open_cached(path))
        assert _band_level(wave, 200.0) > 30
        assert _band_level(wave, 3000.0) < 15  # cached, but not the pattern's
    assert all(_band_level(to_float(open_cached(p)), 200.0) < 15 for p in quiet)


def test_a_folder_field_may_be_a_pattern_and_overlapping_ones_are_refused(tmp_path):
    """One source split between two uses: training negatives from some of its files, the
    validation soundscapes' background from the others; a pattern that shares a file with
    the negatives is refused when the config loads, and one that matches nothing when read."""
    for name in ("site1/a.wav", "site1/b.wav", "site2/c.flac", "site2/notes.txt"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    assert list(audio_files(str(tmp_path))) == ["site1__a", "site1__b", "site2__c"]
    assert list(audio_files(str(tmp_path / "site1" / "[ab].wav"))) == ["a", "b"]
    assert list(audio_files(str(tmp_path / "*" / "c.*"))) == ["site2__c"]
    spec = dict(length=60.0, calls=(3, 8), seconds=(2.0, 6.0), snr_db=(0.0, 20.0), uses=2)
    negatives = str(tmp_path / "site1" / "*.wav")
    cfg = load_config("bird", {"negative_audio": negatives, "valid_soundscapes": {
        **spec, "background": str(tmp_path / "site2")}})
    assert list(background_files(cfg)["id"]) == ["c"]
    with pytest.raises(ConfigError, match="trains this run"):
        load_config("bird", {"negative_audio": negatives, "valid_soundscapes": {
            **spec, "background": str(tmp_path / "*" / "b.wav")}})
    with pytest.raises(ConfigError, match="trains this run"):
        load_config("bird", {"negative_audio": negatives, "valid_soundscapes": {
            **spec, "background": str(tmp_path)}})
    with pytest.raises(SystemExit, match="matches no audio file"):
        folder_files(str(tmp_path / "site3*" / "*.wav"), "negative_audio")


def test_a_loud_call_scales_the_soundscape_down_instead_of_clipping():
    """A call 40 dB over the background would pass full scale: the whole soundscape is scaled
    down, so the call keeps its shape and its level over the background."""
    t = np.arange(2 * SR) / SR
    call = (0.5 * np.sin(2 * np.pi * 1000 * t) * 32767).astype(np.int16)
    noise = (BACKGROUND_RMS * np.random.default_rng(0).standard_normal(4 * SR)
             ).astype(np.float32)
    out = render([{"rec": 0, "seconds": 1.0, "at": 2.0, "snr_db": 40.0}], [call], noise, SR)
    assert np.abs(out).max() == pytest.approx(1.0, abs=1e-6)
    assert (np.abs(out) > 0.999).mean() < 0.01  # a sine's crests, not a clipped plateau
    rms = lambda x: float(np.sqrt(np.mean(x ** 2)))  # noqa: E731
    snr = 20 * np.log10(rms(out[2 * SR:3 * SR]) / rms(out[:2 * SR]))
    assert snr == pytest.approx(40.0, abs=0.5)
