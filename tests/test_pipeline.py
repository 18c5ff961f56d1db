"""The whole pipeline as a user runs it: run.sh on a tiny demo competition, then ensemble.py."""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import cwd
from make_demo import make_rfcx_demo

ROOT = Path(__file__).resolve().parents[1]

TINY = '''
from configs.exp001 import Config as Base


class Config(Base):
    data_dir = "input/tiny"
    solution_csv = "input/tiny.solution.csv"
    sample_rate = 16000
    duration = 2.0
    n_folds = 2
    epochs = 1
    batch_size = 4
    crops_per_file = 1
    n_fft = 512
    hop_length = 256
    mel_bins = 32
    backbone = "resnet10t"
    head_hidden = 32
    num_workers = 0
'''


def run(*args: str, cwd: Path, **env_vars: str) -> str:
    env = {**os.environ, "PYTHON": sys.executable, **env_vars}
    proc = subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """Two experiments trained and inferred with run.sh on a tiny generated competition, the
    second with its folds spread over two "GPUs" (two CPU processes side by side)."""
    work = tmp_path_factory.mktemp("work")
    make_rfcx_demo(work / "input" / "tiny", seed=1, n_species=3, n_train=12, n_test=4,
                   duration=4.0, sr=16000)
    (work / "tiny.py").write_text(TINY)
    # the "copy a config and append a subclass of the class above" pattern
    (work / "tiny2.py").write_text(TINY + '\n\nclass Config(Config):\n'
                                   '    backbone = "mobilenetv3_small_050"\n')
    outputs = [run("bash", str(ROOT / "run.sh"), "tiny.py", cwd=work),
               run("bash", str(ROOT / "run.sh"), "tiny2.py", cwd=work, GPUS="0,1")]
    return work, outputs


def test_run_sh_prints_summary_and_writes_outputs(workdir):
    work, outputs = workdir
    for exp, output in zip(("tiny", "tiny2"), outputs):
        assert f"{exp}: 2 fold model(s)" in output  # the best of each fold, not the resume states
        line = output.strip().splitlines()[-1]
        m = re.fullmatch(rf"{exp} cv_lwlrap=(\S+) test_lwlrap=(\S+) oof=oof/{exp}\.npy "
                         rf"submission=submissions/{exp}\.csv", line)
        assert m, line
        assert 0 < float(m[1]) <= 1 and 0 < float(m[2]) <= 1
        assert (work / "oof" / f"{exp}.npy").exists()
        assert (work / "models" / exp / "fold0.pt").exists()
        assert (work / "models" / exp / "fold1.pt").exists()
        saved = json.loads((work / "models" / exp / "config.json").read_text())
        assert saved["epochs"] == 1 and saved["name"] == exp


def test_submission_matches_sample_submission(workdir):
    work, _ = workdir
    sample = pd.read_csv(work / "input/tiny/sample_submission.csv", dtype={"recording_id": str})
    sub = pd.read_csv(work / "submissions/tiny.csv", dtype={"recording_id": str})
    assert list(sub.columns) == list(sample.columns)
    assert sub["recording_id"].tolist() == sample["recording_id"].tolist()
    values = sub.drop(columns="recording_id").to_numpy()
    assert np.isfinite(values).all() and values.min() >= 0 and values.max() <= 1


def test_oof_covers_every_train_recording_once(workdir):
    work, _ = workdir
    meta = json.loads((work / "oof/tiny.json").read_text())
    tp = pd.read_csv(work / "input/tiny/train_tp.csv", dtype={"recording_id": str})
    assert sorted(meta["ids"]) == sorted(tp["recording_id"].unique())
    assert np.load(work / "oof/tiny.npy").shape == (len(meta["ids"]), 3)
    assert set(meta["folds"]) == {0, 1}


def test_ensemble_blends_and_refuses_misaligned(workdir):
    work, _ = workdir
    out = run(sys.executable, str(ROOT / "ensemble.py"), "oof/tiny.npy", "oof/tiny2.npy",
              "--method", "mean", cwd=work)
    assert re.search(r"blend \(mean\)\s+0\.\d{4}", out), out
    sub = pd.read_csv(work / "submissions/ensemble.csv", dtype={"recording_id": str})
    a = pd.read_csv(work / "submissions/tiny.csv", dtype={"recording_id": str})
    b = pd.read_csv(work / "submissions/tiny2.csv", dtype={"recording_id": str})
    assert np.allclose(sub.iloc[:, 1:], (a.iloc[:, 1:] + b.iloc[:, 1:]) / 2, atol=1e-6)

    meta = json.loads((work / "oof/tiny.json").read_text())
    meta.update(experiment="short", ids=meta["ids"][1:], folds=meta["folds"][1:],
                targets=meta["targets"][1:])
    (work / "oof/short.json").write_text(json.dumps(meta))
    np.save(work / "oof/short.npy", np.load(work / "oof/tiny.npy")[1:])
    proc = subprocess.run([sys.executable, str(ROOT / "ensemble.py"), "oof/tiny.npy",
                           "oof/short.npy"], cwd=work, capture_output=True, text=True)
    assert proc.returncode != 0 and "OOF rows differ" in proc.stderr


def test_row_oof_and_row_level_blend(workdir):
    """Validation also saved 5-s rows (strong RFCX labels: targets per row); ensemble.py
    blends and postprocesses them with --rows."""
    work, _ = workdir
    meta = json.loads((work / "oof/tiny.json").read_text())
    with np.load(work / "oof/tiny.rows.npz") as z:
        assert set(z["audio"]) == set(meta["ids"]) and not z["weak"].any()
        assert z["preds"].shape == z["targets"].shape == (len(z["ids"]), 3)
        rec = np.load(work / "oof/tiny.npy")
        first = z["audio"] == meta["ids"][0]  # a recording's max over rows is its OOF score
        assert np.allclose(z["preds"][first].max(0), rec[0], atol=1e-6)
    out = run(sys.executable, str(ROOT / "ensemble.py"), "oof/tiny.npy", "oof/tiny2.npy",
              "--rows", "--out", "submissions/rows.csv", cwd=work)
    assert "OOF rows" in out and "smoothing" in out and "prior" in out
    report = json.loads((work / "submissions/rows.json").read_text())
    assert report["level"] == "rows" and "temporal" in report["postprocess"]


def test_run_sh_spreads_the_folds_over_gpus(workdir, tmp_path):
    """GPUS=0,1: one train.py per GPU, one fold each, then their OOF merged: the OOF and CV of
    the same experiment trained fold after fold in one process."""
    import train

    work, outputs = workdir
    assert "GPU 0: --fold 0 (log: models/tiny2/train_gpu0.log)" in outputs[1]
    assert "GPU 1: --fold 1 (log: models/tiny2/train_gpu1.log)" in outputs[1]
    assert "fold1 epoch 0" in (work / "models/tiny2/train_gpu1.log").read_text()
    assert "fold0 epoch 0" not in (work / "models/tiny2/train_gpu1.log").read_text()
    shutil.copytree(work / "input", tmp_path / "input")  # the demo and its audio cache
    shutil.copy(work / "tiny2.py", tmp_path)
    with cwd(tmp_path):
        train.main(["tiny2.py"])
    assert np.allclose(np.load(tmp_path / "oof/tiny2.npy"), np.load(work / "oof/tiny2.npy"),
                       atol=1e-5)
    sequential = json.loads((tmp_path / "oof/tiny2.json").read_text())
    spread = json.loads((work / "oof/tiny2.json").read_text())
    assert sequential["cv"] == pytest.approx(spread["cv"], abs=1e-5)
    assert sequential["fold_cv"] == pytest.approx(spread["fold_cv"], abs=1e-5)


def test_exported_onnx_matches_torch_and_one_pass_infers_two_experiments(workdir, capsys,
                                                                         monkeypatch):
    """export.py and infer.py's backends, called as their command lines are (in this process:
    the scripts' own start-up is tested by run.sh above)."""
    import export
    import infer
    from backends import OnnxBackend

    work, _ = workdir
    monkeypatch.chdir(work)

    def scores(name):
        return pd.read_csv(work / f"submissions/{name}.csv").iloc[:, 1:].to_numpy()

    torch_tiny, torch_tiny2 = scores("tiny"), scores("tiny2")
    export.main(["tiny.py"])
    assert "onnx_max_abs_diff=" in capsys.readouterr().out
    exported = work / "models/tiny/ensemble.onnx"
    for backend in ("onnx", "openvino"):  # both are in requirements.txt
        infer.main(["tiny.py", "--backend", backend, "--out", f"submissions/tiny_{backend}.csv"])
        assert np.abs(scores(f"tiny_{backend}") - torch_tiny).max() < 1e-4, backend

    class Skewed(OnnxBackend):  # an exporter that got an operator slightly wrong
        def __call__(self, waves):
            return [(f + 1e-3, c) for f, c in super().__call__(waves)]

    good = exported.read_bytes()
    monkeypatch.setattr(export, "OnnxBackend", Skewed)
    with pytest.raises(SystemExit, match="differs from torch beyond 0.0001: onnx_max_abs_diff"):
        export.main(["tiny.py"])
    assert exported.read_bytes() == good  # the checked file stays; nothing half-written
    assert sorted(p.name for p in exported.parent.iterdir() if "onnx" in p.name
                  or p.name.startswith("tmp")) == ["ensemble.onnx"]

    infer.main(["tiny.py", "--also", "tiny2.py", "--out", "submissions/tiny_pair.csv"])
    assert np.abs(scores("tiny_pair") - torch_tiny).max() < 1e-6
    assert np.abs(scores("tiny2") - torch_tiny2).max() < 1e-6

    fold0 = work / "models/tiny/fold0.pt"  # retrained after the export: refused, not stale
    newer = exported.stat().st_mtime + 1
    os.utime(fold0, (newer, newer))
    with pytest.raises(SystemExit, match="older than the checkpoints"):
        infer.main(["tiny.py", "--backend", "onnx"])
