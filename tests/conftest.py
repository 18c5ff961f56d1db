import os
import sys
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
SHARED_DATA = ROOT.parent / "shared" / "data"  # real audio beside the clone; absent: tests skip
# The tests' models are tiny: one thread each is faster than two fighting over OpenMP, for this
# process and every script, notebook kernel and torchrun worker it starts (they inherit it).
os.environ["OMP_NUM_THREADS"] = "1"

import pytest  # noqa: E402


# The files whose end-to-end runs (scripts in their own processes, torchrun, notebook kernels,
# BirdNET) take most of the suite's time, longest first: collected first, they are dealt to the
# two test workers first (pytest.ini), and the quick files fill in around them.
LONGEST_FIRST = ("test_pipeline.py", "test_kill_rerun.py", "test_distributed.py",
                 "test_teacher.py", "test_notebooks.py")


def pytest_collection_modifyitems(items: list) -> None:
    def rank(item) -> int:
        name = item.path.name
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)
    items.sort(key=rank)  # stable: the rest keep their order


def _write_config(path: Path, parent: str = "configs.base", **fields) -> str:
    """An experiment file stating only `fields`, as a user writes one; returns its path."""
    lines = [f"from {parent} import Config as Base", "", "", "class Config(Base):"]
    lines += [f"    {key} = {value!r}" for key, value in fields.items()]
    path.write_text("\n".join(lines) + "\n")
    return str(path)


@pytest.fixture
def write_config():
    return _write_config


@pytest.fixture(scope="module")
def write_config_module():
    return _write_config


@contextmanager
def cwd(path: Path):
    """Run a block from `path`, as a user runs the scripts from the repo root."""
    old = Path.cwd()
    os.chdir(path)
    try:
        yield path
    finally:
        os.chdir(old)


@pytest.fixture(scope="session")
def rfcx_tiny(tmp_path_factory) -> Path:
    """One tiny RFCX demo (3 species, 12 train recordings of 3 s at 8 kHz) and its audio cache
    folder, shared by the tests that train on it (resume, distributed): set
    `data_dir=str(root / "tiny"), cache_dir=str(root / "cache")`; prepare.py fills the cache
    once."""
    from make_demo import make_rfcx_demo

    root = tmp_path_factory.mktemp("rfcx_tiny")
    make_rfcx_demo(root / "tiny", seed=2, n_species=3, n_train=12, n_test=2, duration=3.0,
                   sr=8000)
    return root


TINY_RUN = dict(parent="configs.exp001", data_dir="input/tiny", solution_csv=None,
                sample_rate=8000, duration=1.0, n_folds=2, crops_per_file=1, epochs=1,
                batch_size=4, n_fft=256, hop_length=128, mel_bins=16, backbone="resnet10t",
                head_hidden=16, num_workers=0)


def train_tiny(work: Path, name: str, seed: int, n_train: int, **fields) -> str:
    """A tiny RFCX demo in `work`, prepared and trained (2 folds x 1 epoch) from the experiment
    file `work/<name>.py` (TINY_RUN plus `fields`); returns that file's path."""
    from make_demo import make_rfcx_demo
    import prepare
    import train

    make_rfcx_demo(work / "input" / "tiny", seed=seed, n_species=3, n_train=n_train, n_test=2,
                   duration=4.0, sr=8000)
    path = _write_config(work / f"{name}.py", **{**TINY_RUN, **fields})
    with cwd(work):
        prepare.main([path])
        train.main([path])
    return path


def assert_out_of_fold(run: Path, folds_csv: Path) -> int:
    """Each fold model under `run` (seed-bag members included) was trained on exactly the
    recordings of the other folds (its checkpoint's `trained_on`), never on its own
    validation recordings; returns how many models were checked."""
    import re

    import pandas as pd
    import torch

    folds = pd.read_csv(folds_csv, dtype={"id": str})
    checked = 0
    for path in sorted(run.glob("fold*.pt")):
        match = re.fullmatch(r"fold(\d+)(_bag\d+)?\.pt", path.name)
        if not match:  # fold<k>.last.pt: the resume state
            continue
        fold = int(match[1])
        trained_on = set(torch.load(path, weights_only=False)["trained_on"])
        valid = set(folds.loc[folds.fold == fold, "id"])
        assert not trained_on & valid, f"{path.name} trained on {sorted(trained_on & valid)}"
        assert trained_on == set(folds["id"]) - valid, path.name
        checked += 1
    assert checked, f"no fold models in {run}"
    return checked
