"""Bad input gets a clear message and costs nothing else: each kind of broken audio, label and
config named in issue 8, and outputs that are either whole or absent."""
import os
import signal
import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

import atomic
import infer
import prepare
import train
from atomic import write_npy
from audio import AudioError, cache_audio, decode, open_cached, stream_wave, to_float
from competitions import checked_submission, get_competition
from configs import load_config, parse_overrides
from recordings import load_train_table
from make_demo import make_rfcx_demo

ROOT = Path(__file__).resolve().parents[1]
SR = 8000


def tone(seconds: float, sr: int, hz: float = 440.0, channels: int = 1) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    wave = (0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32)
    return np.stack([wave] * channels, axis=1) if channels > 1 else wave


def flac(path: Path, wave: np.ndarray, sr: int = SR) -> Path:
    sf.write(path, wave, sr, format="FLAC")
    return path


# --- audio: one case per bad input, each with its message -------------------------------------

def garbage(path: Path) -> Path:
    path.write_bytes(b"these bytes are no audio " * 40)
    return path


def empty(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def truncated(path: Path) -> Path:
    whole = flac(path, tone(3.0, SR) + np.random.default_rng(0).normal(0, 0.1, 3 * SR)
                 .astype(np.float32)).read_bytes()
    path.write_bytes(whole[:len(whole) // 2])
    return path


def no_samples(path: Path) -> Path:
    sf.write(path, np.zeros(0, dtype=np.float32), SR, format="WAV")
    return path


@pytest.mark.parametrize("make, message", [
    (garbage, "not audio that libsndfile or audioread can decode"),
    (empty, r"empty file \(0 bytes\)"),
    (truncated, r"decoding stopped after \d+\.\d s of 3\.0 s, truncated or corrupt"),
    (no_samples, "no audio samples"),
    (lambda p: p, "file not found"),
])
def test_unreadable_audio_says_why_and_leaves_no_cache_file(tmp_path, make, message):
    src = make(tmp_path / "x.flac")
    with pytest.raises(AudioError, match=message):
        cache_audio(src, tmp_path / "cache" / "x.npy", SR)
    assert not list((tmp_path / "cache").glob("*"))  # neither the file nor a temporary
    for read in (decode, lambda p, sr: list(stream_wave(p, sr))):  # every reader says the same
        with pytest.raises(AudioError, match=message):
            read(src, SR)


def test_a_cache_file_without_samples_is_unreadable_not_silent(tmp_path):
    write_npy(tmp_path / "x.npy", np.zeros(0, dtype=np.int16))
    with pytest.raises(AudioError, match="no audio samples"):
        list(stream_wave(tmp_path / "x.npy", SR))


def test_nan_and_inf_become_zero_and_are_counted(tmp_path):
    wave = tone(1.0, SR)
    wave[100:150], wave[400], wave[401] = np.nan, np.inf, -np.inf
    sf.write(tmp_path / "x.wav", wave, SR, subtype="FLOAT")
    report = cache_audio(tmp_path / "x.wav", tmp_path / "x.npy", 16000)  # through the resampler
    cached = to_float(open_cached(tmp_path / "x.npy"))
    assert report.non_finite == 52 and np.isfinite(cached).all()
    # the bad samples are zeros, not a filter's length of NaN: the tone elsewhere is intact
    assert abs(np.abs(cached[2000:]).max() - 0.5) < 0.01


def test_silent_stereo_and_rates_from_8_to_96_khz(tmp_path):
    report = cache_audio(flac(tmp_path / "s.flac", np.zeros(SR, dtype=np.float32)),
                         tmp_path / "s.npy", 32000)
    assert report.peak == 0 and len(open_cached(tmp_path / "s.npy")) == 32000
    stereo = tone(1.0, 44100, channels=2)
    stereo[:, 1] = 0  # one dead channel: the mean of both
    cache_audio(flac(tmp_path / "st.flac", stereo, 44100), tmp_path / "st.npy", 32000)
    assert abs(np.abs(to_float(open_cached(tmp_path / "st.npy"))).max() - 0.25) < 0.01
    for rate in (8000, 11025, 22050, 48000, 96000):
        src = flac(tmp_path / f"{rate}.flac", tone(1.5, rate, hz=1000.0), rate)
        cache_audio(src, tmp_path / f"{rate}.npy", 32000)
        wave = to_float(open_cached(tmp_path / f"{rate}.npy"))
        assert abs(len(wave) - 48000) <= 1  # 1.5 s of 11025 Hz is 16537.5 samples
        spectrum = np.abs(np.fft.rfft(wave[8000:40000]))  # 1-s window, 1-Hz bins
        assert abs(np.argmax(spectrum) - 1000) <= 1


def test_an_hour_long_file_is_cached_in_pieces(tmp_path):
    """Longer than an hour: cached with a few MB of memory, not the whole wave at once."""
    src = tmp_path / "long.wav"
    second = (np.random.default_rng(0).normal(0, 0.1, SR)).astype(np.float32)
    with sf.SoundFile(src, "w", SR, 1, subtype="PCM_16") as f:
        for _ in range(3601):
            f.write(second)
    tracemalloc.start()
    try:
        report = cache_audio(src, tmp_path / "long.npy", 4000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert report.seconds == 3601.0 and len(open_cached(tmp_path / "long.npy")) == 3601 * 4000
    whole = 3601 * SR * 4  # bytes of the source as one float wave
    assert peak < 16e6, f"{peak / 1e6:.0f} MB traced; the whole wave is {whole / 1e6:.0f} MB"


# --- one run through prepare, train and infer with broken files among good ones ---------------

@pytest.fixture(scope="module")
def broken_demo(tmp_path_factory, write_config_module):
    root = tmp_path_factory.mktemp("broken")
    comp = make_rfcx_demo(root / "comp", seed=5, n_species=3, n_train=12, n_test=3,
                          duration=3.0, sr=SR)
    train_files = sorted((comp / "train").glob("*.flac"))
    garbage(train_files[0])
    truncated(train_files[1])
    stereo = tone(3.0, 96000, channels=2)  # a readable odd one: 96 kHz stereo
    flac(train_files[2], stereo, 96000)
    sf.write(train_files[3], np.full(3 * SR, np.nan, dtype=np.float32), SR, format="WAV",
             subtype="FLOAT")  # all NaN -> silence, kept
    bad_test, header_only = sorted((comp / "test").glob("*.flac"))[:2]
    empty(bad_test)
    no_samples(header_only)  # a WAV header and no data: not silence, nothing is known
    config = write_config_module(
        root / "tinybad.py", data_dir=str(comp), cache_dir=str(root / "cache"),
        sample_rate=SR, duration=1.0, n_folds=2, epochs=1, batch_size=4, crops_per_file=1,
        n_fft=256, hop_length=128, mel_bins=16, backbone="resnet10t", head_hidden=16,
        num_workers=0, amp=None)
    return root, config, train_files, bad_test, header_only


def test_prepare_lists_every_unreadable_file_and_goes_on(broken_demo, capsys):
    root, config, train_files, bad_test, header_only = broken_demo
    prepare.main([config])  # no exception
    out = capsys.readouterr().out
    assert f"could not read 4 file(s) (all in {root / 'cache' / 'unreadable.csv'})" in out
    assert f"{train_files[0]}: not audio that libsndfile or audioread can decode" in out
    assert f"{train_files[1]}: decoding stopped after" in out
    assert f"{bad_test}: empty file (0 bytes)" in out
    assert f"{header_only}: no audio samples" in out
    assert f"{train_files[3]}: {3 * SR} NaN/inf sample(s) set to 0" in out
    assert f"{train_files[3]}: silent: every sample is 0" in out
    listed = pd.read_csv(root / "cache" / "unreadable.csv", dtype=str)
    assert sorted(listed["split"]) == ["test", "test", "train", "train"]
    assert (root / "cache" / "folds_k2_seed42.csv").exists()


def test_training_leaves_unreadable_files_out_and_infer_keeps_every_row(
        broken_demo, capsys, monkeypatch):
    root, config, train_files, bad_test, header_only = broken_demo
    monkeypatch.chdir(root)
    prepare.main([config])
    cfg = load_config(config)
    recordings, _ = load_train_table(cfg, get_competition("rfcx", cfg.data_dir))
    err = capsys.readouterr().err
    assert "training leaves out 2 unreadable recording(s)" in err
    assert f"{train_files[0].stem}: not audio" in err
    assert len(recordings) == 10 and train_files[0].stem not in set(recordings["id"])

    train.main([config])  # never trips over the missing files
    infer.main([config])
    err = capsys.readouterr().err
    assert (f"could not read {bad_test} (empty file (0 bytes)); its 1 row(s) get the class "
            "prior") in err
    assert f"could not read {header_only} (no audio samples); its 1 row(s)" in err
    sub = pd.read_csv(root / "submissions" / "tinybad.csv", dtype={"recording_id": str})
    sample = pd.read_csv(Path(cfg.data_dir) / "sample_submission.csv", dtype={"recording_id": str})
    assert sub["recording_id"].tolist() == sample["recording_id"].tolist()  # no row dropped
    comp = get_competition("rfcx", cfg.data_dir)
    prior = np.mean([[k in labels for k in range(3)]
                     for labels in comp.train_recordings()["labels"]], axis=0)
    for bad in (bad_test, header_only):
        row = sub.set_index("recording_id").loc[bad.stem].to_numpy(float)
        assert np.allclose(row, prior, atol=1e-6)


def die_on_three(job: int) -> tuple[None, list[str]]:
    if job == 3:  # as a codec library crashing on a malformed file
        os.kill(os.getpid(), signal.SIGKILL)
    return None, [f"did {job}"]


def test_a_decoder_crash_is_reported_not_fatal():
    results = prepare.run_isolated(die_on_three, list(range(10)), workers=2)
    assert results.pop(3) == ("the decoder crashed on it (its process died)", [])
    assert results == {j: (None, [f"did {j}"]) for j in range(10) if j != 3}


# --- labels and configs: stopped before any training, naming the file, row or field -----------

def test_missing_data_dir_is_named(tmp_path):
    with pytest.raises(SystemExit, match=f"data_dir {tmp_path / 'nowhere'} not found"):
        get_competition("rfcx", str(tmp_path / "nowhere"))
    proc = subprocess.run([sys.executable, str(ROOT / "src/prepare.py"), "exp001", "-o",
                           f"data_dir='{tmp_path / 'nowhere'}'"], cwd=tmp_path,
                          capture_output=True, text=True)
    assert proc.returncode != 0 and "nowhere not found" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_unknown_config_field_names_the_file_and_a_suggestion(tmp_path):
    path = tmp_path / "typo.py"
    path.write_text(textwrap.dedent("""
        from configs.exp001 import Config as Base

        class Config(Base):
            epoch = 3
    """))
    with pytest.raises(SystemExit, match=rf"{path}: .*unknown config field\(s\) \['epoch'\] "
                                         r"\(did you mean 'epochs'\?\)"):
        load_config(str(path))
    with pytest.raises(SystemExit, match=r"'bach_size' \(did you mean 'batch_size'\?\)"):
        parse_overrides(["bach_size=4"])


def test_a_file_that_is_no_csv_is_named(tmp_path):
    comp = tmp_path / "comp"
    make_rfcx_demo(comp, seed=1, n_species=2, n_train=4, n_test=1, duration=3.0, sr=SR)
    (comp / "train_tp.csv").write_text('recording_id,species_id\n"unclosed,1\n')
    with pytest.raises(SystemExit, match=r"train_tp\.csv"):
        get_competition("rfcx", str(comp))


# --- outputs: whole or absent; the submission checked before it is written --------------------

def test_a_write_killed_midway_leaves_the_old_file_whole(tmp_path):
    """SIGKILL a process while it writes over an existing file: the real name still holds the
    old, complete array; the next process writing there deletes the dead writer's temporary."""
    target = tmp_path / "a.npy"
    write_npy(target, np.arange(10))
    code = textwrap.dedent(f"""
        import sys, numpy as np
        sys.path.insert(0, {str(ROOT / 'src')!r})
        from atomic import atomic_path
        with atomic_path({str(target)!r}) as tmp, open(tmp, "wb") as f:
            f.write(b"x" * 4096)
            f.flush()
            print("writing", flush=True)
            while True:
                f.write(b"x" * 65536)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "writing"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert np.array_equal(np.load(target), np.arange(10))
    (left,) = [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert left.name.startswith(".a.npy.") and left.stat().st_size >= 4096
    subprocess.run([sys.executable, "-c", f"import sys; sys.path.insert(0, {str(ROOT / 'src')!r})"
                    f"; import numpy as np; from atomic import write_npy; "
                    f"write_npy({str(tmp_path / 'b.npy')!r}, np.ones(3))"], check=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.npy", "b.npy"]


def test_the_sweep_deletes_a_dead_writers_temporary_and_keeps_a_live_ones(tmp_path):
    """A temporary is garbage once its writer has died, but a writer still running (another
    process saving into the same folder) needs its own: deleting it would fail its rename."""
    live = subprocess.Popen(["sleep", "60"])
    dead = subprocess.Popen(["true"])
    dead.wait()  # exited and reaped: its pid names no process
    try:
        names = [f".b.npy.{atomic._HOST}-{proc.pid}.k3j_x9q1.tmp" for proc in (live, dead)]
        for name in names:
            (tmp_path / name).write_bytes(b"half a checkpoint")
        atomic.write_json(tmp_path / "c.json", {"a": 1})  # the first write into the folder
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted([names[0], "c.json"])
    finally:
        live.kill()
        live.wait()


@pytest.mark.parametrize("change, message", [
    (lambda ids, s: (ids[::-1], s), "first difference at row 0"),
    (lambda ids, s: (ids[:-1], s[:-1]), r"1 given, 2 expected"),
    (lambda ids, s: (ids, s * 2), r"scores leave \[0, 1\]"),
    (lambda ids, s: (ids, np.where(s > 0.5, np.nan, s)), "non-finite"),
])
def test_submission_is_checked_against_the_sample(tmp_path, change, message):
    make_rfcx_demo(tmp_path / "comp", seed=1, n_species=2, n_train=4, n_test=2, duration=3.0,
                   sr=SR)
    comp = get_competition("rfcx", str(tmp_path / "comp"))
    ids = comp.sample["recording_id"].tolist()
    scores = np.array([[0.2, 0.9], [0.7, 0.1]])
    assert comp.make_submission(ids, scores).shape == (2, 3)
    with pytest.raises(ValueError, match=message):
        comp.make_submission(*change(ids, scores))
    with pytest.raises(SystemExit, match=rf"^sub\.csv not written: .*{message}"):
        checked_submission(comp, *change(ids, scores), "sub.csv")
