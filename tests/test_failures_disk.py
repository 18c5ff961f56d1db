"""Issue 26, no silent wrong result: a disk that is full or read-only, a source replaced or cut
short, an output that is a device or a pipe, Ctrl-C and a missing GPU each either stop the run
with one line saying why, or let it go on correctly.

Full and read-only disks are real where the kernel lets this process mount a tmpfs of its own
(`unshare -rm`, no privileges needed on most Linux); elsewhere those tests skip, and the full
disk is also simulated by a cache file whose writes the OS refuses (ENOSPC)."""
import errno
import io
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

import atomic
import audio
import prepare
from audio import AudioError, decode, open_cached, to_float
from make_demo import make_rfcx_demo

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"
SR = 8000
RUN = dict(sample_rate=SR, n_folds=2, num_workers=2)


def _namespaces_work() -> bool:
    try:
        probe = ["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=4k tmpfs /tmp"]
        return subprocess.run(probe, capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


NAMESPACES = _namespaces_work()
needs_namespaces = pytest.mark.skipif(not NAMESPACES, reason="cannot mount a private tmpfs "
                                      "(unshare -rm): no real full or read-only disk here")


def in_namespace(mounts: str, argv: list[str], after: str = "") -> subprocess.CompletedProcess:
    """`argv` in a private mount namespace after the shell commands `mounts`; `after` runs there
    once it has ended (the mounts vanish with the namespace). Exit status: argv's."""
    script = f'{mounts} && {shlex.join(argv)}; rc=$?; {after or "true"}; exit $rc'
    return subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})


def tmpfs(folder: Path, size: str) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    return f"mount -t tmpfs -o size={size} tmpfs {shlex.quote(str(folder))}"


def read_only(folder: Path) -> str:
    q = shlex.quote(str(folder))
    return f"mount --bind {q} {q} && mount -o remount,ro,bind {q} {q}"


@pytest.fixture
def demo(tmp_path, write_config):
    """A tiny RFCX demo (6 train, 2 test recordings of 3 s) and an experiment caching it in
    `tmp_path/cache`."""
    make_rfcx_demo(tmp_path / "comp", seed=3, n_species=3, n_train=6, n_test=2, duration=3.0,
                   sr=SR)
    config = write_config(tmp_path / "tinydisk.py", data_dir=str(tmp_path / "comp"),
                          cache_dir=str(tmp_path / "cache"), **RUN)
    return tmp_path, config


def script(name: str, *args: str) -> list[str]:
    return [sys.executable, str(SRC / name), *args]


# --- 1. a full disk while caching stops prepare; it is never "unreadable audio" -------------

@needs_namespaces
def test_a_full_cache_disk_stops_prepare_naming_the_folder(demo):
    root, config = demo
    cache = root / "cache"
    done = in_namespace(tmpfs(cache, "64k"), script("prepare.py", config),
                        after=f"find {shlex.quote(str(cache))} -name '*.tmp'")
    assert done.returncode == 1, done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"cannot write to {cache}/"), last
    assert "no space left on device (" in last and "free of 64.0 KiB)" in last, last
    assert "could not read" not in done.stdout and "Traceback" not in done.stderr
    assert not done.stdout.count(".tmp"), done.stdout  # `find` found no temporary left


@pytest.mark.parametrize("code, words", [(errno.ENOSPC, "no space left on device"),
                                         (errno.EDQUOT, "disk quota exceeded")])
def test_a_refused_cache_write_is_no_unreadable_file(demo, monkeypatch, code, words):
    """The same without a tmpfs: each write to a cache file fails as the OS fails it on a full
    disk or quota."""
    class Refusing(io.FileIO):
        def write(self, data):
            raise OSError(code, os.strerror(code))

    real_open = open
    monkeypatch.setattr(audio, "open", lambda f, mode="r", *a, **k: Refusing(f, mode)
                        if "w" in mode else real_open(f, mode, *a, **k), raising=False)
    root, config = demo
    with pytest.raises(atomic.DiskError, match=rf"cannot write to {root / 'cache' / 'train'}: "
                                               rf"{words} \(.* free of .*\); free some space"):
        prepare.main([config])
    assert not (root / "cache" / "unreadable.csv").exists()
    assert not list((root / "cache").rglob("*.tmp")) and not list((root / "cache").rglob("*.npy"))


# --- 2. a full disk while checkpointing: the same one line, no half file ----------------------

CHECKPOINTS = """
import os, sys, torch
sys.path.insert(0, {src!r})
from atomic import atomic_path
from engine import save_checkpoint
folder = sys.argv[1]
model = torch.nn.Linear(300, 300)
try:  # a fold's model
    save_checkpoint(os.path.join(folder, "fold0.pt"), model, epoch=0)
except SystemExit as e:
    print("model:", e)
try:  # the resume state, as training.py writes it
    with atomic_path(os.path.join(folder, "fold0.last.pt")) as tmp:
        torch.save({{"model": model.state_dict()}}, tmp)
except SystemExit as e:
    print("state:", e)
print("left:", sorted(os.listdir(folder)))
"""


def test_a_full_disk_while_checkpointing_says_so_and_leaves_nothing(tmp_path):
    """torch alone says "unexpected pos"; here the disk's own error. A real full tmpfs where
    one can be mounted, else a file size limit (RLIMIT_FSIZE, "file too large")."""
    models = tmp_path / "models"
    argv = [sys.executable, "-c", CHECKPOINTS.format(src=str(SRC)), str(models)]
    if NAMESPACES:
        done = in_namespace(tmpfs(models, "64k"), argv)
        words = "no space left on device"
    else:
        import resource

        models.mkdir()

        def limit():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (64 << 10, 64 << 10))
        done = subprocess.run(argv, capture_output=True, text=True, preexec_fn=limit,
                              env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"})
        words = "file too large"
    assert done.returncode == 0, done.stderr
    out = done.stdout.splitlines()
    for line, what in zip(out, ("model:", "state:")):
        assert line.startswith(f"{what} cannot write to {models}: {words} ("), out
        assert line.endswith(", then run it again"), out
    assert out[2] == "left: []", out  # no checkpoint, no temporary


# --- 3. a complete cache on a read-only disk is used as it is ---------------------------------

READ_ALL = """
import sys
sys.path.insert(0, {src!r})
import pandas as pd
from audio import stream_wave
from cache import cached_path, folds_path
from competitions import competition_for
from configs import load_config
from recordings import load_train_table
cfg = load_config(sys.argv[1])
comp = competition_for(cfg)
recordings, events = load_train_table(cfg, comp)  # as train.py reads the cache
tests = [cached_path(cfg, "test", i) for i in comp.test_rows()["audio_id"].unique()]
paths = list(recordings["cache_path"]) + [str(p) for p in tests if p.exists()]
print("read", len(recordings), "train", len(paths) - len(recordings), "test",
      len(pd.read_csv(folds_path(cfg))), "folded",
      sum(len(piece) for p in paths for piece in stream_wave(p, cfg.sample_rate)), "samples")
"""


@needs_namespaces
def test_a_complete_read_only_cache_is_used_and_an_incomplete_one_named(demo):
    root, config = demo
    cache = root / "cache"
    prepare.main([config])
    reader = [sys.executable, "-c", READ_ALL.format(src=str(SRC)), config]
    done = in_namespace(read_only(cache), script("prepare.py", config), after=shlex.join(reader))
    assert done.returncode == 0, done.stderr
    assert "8 already cached" in done.stdout and "warning" not in done.stderr
    assert done.stdout.splitlines()[-1].split() == [
        "read", "6", "train", "2", "test", "6", "folded", str(8 * 3 * SR), "samples"], done.stdout

    next((cache / "train").glob("*.npy")).unlink()  # one file to write: the disk refuses
    done = in_namespace(read_only(cache), script("prepare.py", config))
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith(f"cannot write to {cache / 'train'}: read-only file system ("), last
    assert last.endswith("make it writable or write elsewhere, then run it again"), last


# --- 4. a source replaced under the same name is decoded again --------------------------------

def test_a_replaced_source_is_decoded_again_and_an_old_cache_is_adopted(demo, capsys):
    root, config = demo
    prepare.main([config])
    capsys.readouterr()
    cached = {p: p.stat().st_mtime_ns for p in (root / "cache").rglob("*.npy")}
    src = sorted((root / "comp" / "train").glob("*.flac"))[0]
    new = 0.25 * np.sin(2 * np.pi * 500 * np.arange(3 * SR) / SR).astype(np.float32)
    sf.write(src, new, SR, format="FLAC")  # a tone replaces the demo's calls
    prepare.main([config])
    out = capsys.readouterr().out
    assert "1 source file(s) changed since they were cached (new size or modification time); "\
           "decoding them again:" in out and f"  {src}\n" in out
    wave = to_float(open_cached(root / "cache" / "train" / f"{src.stem}.npy"))
    assert np.allclose(wave, decode(src, SR), atol=1e-4) and len(wave) == 3 * SR

    (root / "cache" / "sources.csv").unlink()  # a cache made before sizes and times were kept
    before = {p: p.stat().st_mtime_ns for p in (root / "cache").rglob("*.npy")}
    prepare.main([config])
    out = capsys.readouterr().out
    assert "8 already cached" in out and "8 cached file(s) had no recorded source size" in out
    assert {p: p.stat().st_mtime_ns for p in (root / "cache").rglob("*.npy")} == before
    assert before.keys() == cached.keys()
    assert len(pd.read_csv(root / "cache" / "sources.csv")) == 8

    src.write_bytes(b"now this is no audio at all" * 20)  # replaced by a broken file: the old
    prepare.main([config])                                # decode is not used in its place
    assert f"{src}: not audio" in capsys.readouterr().out
    assert not (root / "cache" / "train" / f"{src.stem}.npy").exists()


# --- 5. a device, a FIFO or /dev/stdout is written in place, never renamed over --------------

def test_outputs_to_a_fifo_a_device_or_a_descriptor_are_written_in_place(tmp_path):
    table = pd.DataFrame({"row_id": ["a", "b"], "score": [0.25, 0.5]})
    expected = table.to_csv(index=False)

    fifo = tmp_path / "submission.csv"
    os.mkfifo(fifo)
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()))
    reader.start()
    atomic.write_csv(fifo, table)
    reader.join(10)
    assert got == [expected] and fifo.is_fifo()

    null = tmp_path / "null"  # a link to /dev/null: a rename would replace only this link
    null.symlink_to("/dev/null")
    atomic.write_csv(null, table)
    assert null.is_symlink() and null.is_char_device()

    log = tmp_path / "run.log"  # what a shell's `> run.log` gives as /dev/stdout
    with open(log, "w") as held:
        inode = os.stat(log).st_ino
        stdout = tmp_path / "stdout"
        stdout.symlink_to(f"/proc/self/fd/{held.fileno()}")
        atomic.write_csv(stdout, table)
        assert log.read_text() == expected
        atomic.write_json(f"/proc/self/fd/{held.fileno()}", {"rows": 2})
        assert log.read_text() == '{\n "rows": 2\n}'
    assert os.stat(log).st_ino == inode and stdout.is_symlink()

    target = tmp_path / "real.csv"  # a link to a regular file: the file is replaced, the link kept
    target.write_text("old")
    inode = os.stat(target).st_ino
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    atomic.write_csv(link, table)
    assert link.is_symlink() and target.read_text() == expected
    assert os.stat(target).st_ino != inode  # renamed onto, as every regular output
    assert not list(tmp_path.glob(".*.tmp"))


# --- 6. every codec cut short is unreadable, with its reason ---------------------------------

def _blocks(path: Path, fmt: str, subtype: str) -> bytes:
    """3 s of tone and noise; written in blocks (one long OGG write crashes libsndfile)."""
    t = np.arange(3 * SR) / SR
    wave = (0.3 * np.sin(2 * np.pi * 440 * t)
            + np.random.default_rng(0).normal(0, 0.05, len(t))).astype(np.float32)
    with sf.SoundFile(path, "w", SR, 1, format=fmt, subtype=subtype) as f:
        for start in range(0, len(wave), 4096):
            f.write(wave[start:start + 4096])
    return path.read_bytes()


@pytest.mark.parametrize("ext, fmt, subtype, message", [
    ("ogg", "OGG", "VORBIS", r"after \d\.\d s, truncated or corrupt \(the Ogg stream ends "
                             r"without its last page\)"),
    ("opus", "OGG", "OPUS", r"after \d\.\d s, truncated or corrupt \(the Ogg stream ends"),
    ("mp3", "MP3", "MPEG_LAYER_III", r"after \d\.\d s of 3\.0 s, truncated or corrupt \(the MP3 "
                                     r"header promises 24000 frames, \d+ decoded\)"),
    ("wav", "WAV", "PCM_16", r"after \d\.\d s of 3\.0 s, truncated or corrupt \(the WAV header "
                             r"promises 24000 frames, \d+ decoded\)"),
    ("flac", "FLAC", "PCM_16", r"after \d\.\d s of 3\.0 s, truncated or corrupt"),
])
def test_a_file_cut_short_is_unreadable_whatever_its_codec(tmp_path, ext, fmt, subtype, message):
    whole = _blocks(tmp_path / f"whole.{ext}", fmt, subtype)
    assert abs(len(decode(tmp_path / f"whole.{ext}", SR)) - 3 * SR) <= 1
    for keep in (0.5, 0.9):
        cut = tmp_path / f"cut.{ext}"
        cut.write_bytes(whole[:int(len(whole) * keep)])
        job = ("train", "cut", str(cut), str(tmp_path / "cache" / "cut.npy"), SR)
        error, _ = prepare.cache_one(job)
        assert error is not None and error.startswith("decoding stopped ")
        with pytest.raises(AudioError, match=message):
            decode(cut, SR)
    assert not (tmp_path / "cache").exists() or not list((tmp_path / "cache").iterdir())


# --- 7. Ctrl-C: one line, exit code 130, nothing half-written ---------------------------------

def hear_ctrl_c() -> None:
    """In the child: Ctrl-C as a terminal gives it. A test runner started in the background by a
    non-interactive shell ignores SIGINT, and Python keeps an ignored SIGINT ignored."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_ctrl_c_during_prepare_ends_it_at_once_with_one_line(tmp_path, write_config):
    comp = make_rfcx_demo(tmp_path / "comp", seed=1, n_species=2, n_train=2, n_test=1,
                          duration=3.0, sr=SR)
    for i, src in enumerate(sorted((comp / "train").glob("*.flac"))):  # a few seconds to decode
        noise = np.random.default_rng(i).normal(0, 0.1, 60 * 96000).astype(np.float32)
        sf.write(src, noise, 96000, format="FLAC")
    config = write_config(tmp_path / "tinyint.py", data_dir=str(comp),
                          cache_dir=str(tmp_path / "cache"), sample_rate=SR, num_workers=1)
    run = subprocess.Popen(script("prepare.py", config), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, start_new_session=True,
                           preexec_fn=hear_ctrl_c)
    train = tmp_path / "cache" / "train"
    end = time.monotonic() + 60
    while not (train.is_dir() and any(train.iterdir())) and time.monotonic() < end:
        time.sleep(0.002)  # the first temporary: decoding has begun
    os.killpg(run.pid, signal.SIGINT)  # as Ctrl-C in a terminal: the whole process group
    sent = time.monotonic()
    out, err = run.communicate(timeout=30)
    assert time.monotonic() - sent < 2.0
    assert run.returncode == 130, err
    assert err.strip().splitlines()[-1] == atomic.INTERRUPTED and "Traceback" not in err
    assert not list((tmp_path / "cache").rglob("*.tmp"))
    for path in train.glob("*.npy"):  # what is there is whole
        assert len(open_cached(path)) == 60 * SR


def test_ctrl_c_anywhere_in_a_script_gives_one_line_and_130():
    """What every script's `run_script(main)` gives, shown on a main that just waits."""
    code = (f"import sys, time; sys.path.insert(0, {str(SRC)!r}); from atomic import run_script; "
            "print('ready', flush=True); run_script(lambda: time.sleep(60))")
    run = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, preexec_fn=hear_ctrl_c)
    assert run.stdout.readline() == "ready\n"
    time.sleep(0.2)
    run.send_signal(signal.SIGINT)
    out, err = run.communicate(timeout=10)
    assert run.returncode == 130 and err.strip() == atomic.INTERRUPTED


# --- 8. device=cuda without a GPU ------------------------------------------------------------

def test_a_missing_gpu_is_named_in_one_line():
    import torch

    from engine import resolve_device

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    name = "cuda" if count == 0 else f"cuda:{count}"
    with pytest.raises(SystemExit, match=rf"^device='{name}' but torch sees "
                                         rf"{'no' if count == 0 else f'only {count}'} CUDA "
                                         r"GPU\(s\) \(torch .*\); run with -o device=cpu, or "
                                         "device=auto"):
        resolve_device(name)
    with pytest.raises(SystemExit, match=r"^device='gpu' is no torch device"):
        resolve_device("gpu")
    assert resolve_device("cpu") == torch.device("cpu")
