"""`kill -9` anywhere in `bash run.sh EXP`, then `bash run.sh EXP` again, ends with the outputs of
a run that was never interrupted: the cache, checkpoints, OOF and submission are each written
whole under a temporary name, and every step picks up what the last one left."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np

from make_demo import make_rfcx_demo

ROOT = Path(__file__).resolve().parents[1]

CONFIG = '''
from configs.exp001 import Config as Base


class Config(Base):
    data_dir = "input/tiny"
    solution_csv = "input/tiny.solution.csv"
    sample_rate = 8000
    duration = 1.0
    n_folds = 2
    epochs = 1
    batch_size = 4
    crops_per_file = 3
    checkpoint_every = 1
    n_fft = 256
    hop_length = 128
    mel_bins = 16
    backbone = "resnet10t"
    head_hidden = 16
    num_workers = 0
'''


def new_workdir(path: Path) -> Path:
    path.mkdir()
    make_rfcx_demo(path / "input" / "tiny", seed=4, n_species=3, n_train=10, n_test=2,
                   duration=3.0, sr=16000)
    (path / "tinyk.py").write_text(CONFIG)
    return path


def run_sh(work: Path, log: Path) -> subprocess.Popen:
    """run.sh in its own process group, so one killpg takes it and every child it started."""
    return subprocess.Popen(["bash", str(ROOT / "run.sh"), "tinyk.py"], cwd=work,
                            env={**os.environ, "PYTHON": sys.executable},
                            stdout=open(log, "w"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def kill_when(work: Path, ready: Callable[[], bool], timeout: float = 300) -> bool:
    """Start run.sh and SIGKILL its whole process group as soon as `ready()`; False if it
    finished first."""
    proc = run_sh(work, work / "killed.log")
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if ready():
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGKILL)
    raise AssertionError(f"run.sh did not reach the kill point in {timeout} s")


def finish(work: Path, proc: subprocess.Popen | None = None) -> str:
    """Run run.sh to its end (or wait for `proc`, one already started); its summary line."""
    log = work / "run.log"
    proc = proc or run_sh(work, log)
    assert proc.wait() == 0, log.read_text()[-3000:]
    return log.read_text().strip().splitlines()[-1]


def outputs(work: Path) -> dict[str, object]:
    with np.load(work / "oof/tinyk.test.npz") as z:
        test = {k: z[k] for k in z.files}
    return {"oof": np.load(work / "oof/tinyk.npy"), "oof.json": (work / "oof/tinyk.json")
            .read_text(), "submission": (work / "submissions/tinyk.csv").read_text(),
            "folds": (work / "input/cache/tiny-8000/folds_k2_seed42.csv").read_text(), **test}


def after(marker: str, seconds: float, log: Path) -> Callable[[], bool]:
    """Ready `seconds` after `marker` first shows in run.sh's output."""
    seen: list[float] = []

    def ready() -> bool:
        if not seen and log.exists() and marker in log.read_text():
            seen.append(time.monotonic())
        return bool(seen) and time.monotonic() - seen[0] >= seconds
    return ready


def test_killed_anywhere_and_rerun_gives_the_uninterrupted_outputs(tmp_path):
    reference = new_workdir(tmp_path / "reference")
    uninterrupted = run_sh(reference, reference / "run.log")  # alongside the killed runs
    work = new_workdir(tmp_path / "work")
    models, cache = work / "models/tinyk", work / "input/cache"

    # during prepare, as soon as the first recording is cached
    kill_when(work, lambda: cache.exists() and any(cache.rglob("*.npy")))
    # mid fold 0: its first resumable checkpoint (after one step) is written, the fold not done
    assert kill_when(work, lambda: (models / "fold0.last.pt").exists())
    assert not (models / "oof_fold0.npz").exists()
    # while infer predicts and writes (its models are loaded)
    assert kill_when(work, after("model(s) from", 0.0, work / "killed.log"))

    assert finish(work) == finish(reference, uninterrupted)
    got, expected = outputs(work), outputs(reference)
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        if isinstance(value, np.ndarray):
            assert np.array_equal(got[key], value), key
        else:
            assert got[key] == value, key
    # the killed writers' temporaries were deleted by the next run writing beside them
    assert not [p for p in work.rglob("*.tmp")]
