"""The Kaggle kernels in notebooks/ run end to end on a tiny demo, so they cannot rot: the
settings cell as written, then a cell with this test's settings (papermill's pattern), then
every other cell unchanged. Needs nbclient, nbformat and ipykernel (requirements-dev.txt)."""
from pathlib import Path

import pandas as pd
import pytest

from make_demo import make_rfcx_demo

nbclient = pytest.importorskip("nbclient")
nbformat = pytest.importorskip("nbformat")
pytest.importorskip("ipykernel")

ROOT = Path(__file__).resolve().parents[1]


def execute(name: str, work: Path, **settings) -> str:
    """Run notebooks/<name> in `work` with `settings` injected; returns its text output."""
    nb = nbformat.read(ROOT / "notebooks" / name, as_version=4)
    at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    lines = [f"{k} = Path({str(v)!r})" if isinstance(v, Path) else f"{k} = {v!r}"
             for k, v in settings.items()]
    nb.cells.insert(at + 1, nbformat.v4.new_code_cell("\n".join(lines)))
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(work)}}).execute()
    return "\n".join(out.get("text", "") for cell in nb.cells if cell.cell_type == "code"
                     for out in cell.outputs)


def test_training_then_offline_inference_kernel(tmp_path, write_config):
    train_dir, infer_dir, wheels = tmp_path / "train", tmp_path / "infer", tmp_path / "wheels"
    for d in (train_dir, infer_dir, wheels):
        d.mkdir()
    make_rfcx_demo(train_dir / "input" / "tiny", seed=4, n_species=3, n_train=12, n_test=2,
                   duration=4.0, sr=8000)
    config = write_config(
        train_dir / "tinynb.py", parent="configs.exp001", data_dir="input/tiny",
        solution_csv="input/tiny.solution.csv", sample_rate=8000, duration=1.0, n_folds=2,
        crops_per_file=1, epochs=1, batch_size=4, n_fft=256, hop_length=128, mel_bins=16,
        backbone="resnet10t", head_hidden=16, num_workers=0)

    out = execute("kaggle_train.ipynb", train_dir, REPO=ROOT, WHEELS=wheels, WORK=train_dir,
                  EXP=config, OVERRIDES={"epochs": 1})
    assert "nothing to install" in out  # the offline install cell ran and found all packages
    run = train_dir / "models" / "tinynb"
    for name in ("fold0.pt", "fold1.pt", "config.json", "run.json", "plots/curves.png"):
        assert (run / name).exists(), name

    # as on Kaggle: another working folder, the training output attached read-only elsewhere
    test_data = train_dir / "input" / "tiny"
    out = execute("kaggle_infer.ipynb", infer_dir, REPO=ROOT, WHEELS=wheels, WORK=infer_dir,
                  MODELS=train_dir / "models", EXP="tinynb",
                  OVERRIDES={"data_dir": str(test_data),
                             "solution_csv": str(train_dir / "input" / "tiny.solution.csv")})
    assert "tinynb: 2 fold model(s)" in out and "test_lwlrap=" in out
    sub = pd.read_csv(infer_dir / "submission.csv", dtype={"recording_id": str})
    sample = pd.read_csv(test_data / "sample_submission.csv", dtype={"recording_id": str})
    assert list(sub.columns) == list(sample.columns)
    assert sub["recording_id"].tolist() == sample["recording_id"].tolist()
    assert (infer_dir / "models" / "tinynb").is_symlink()
    assert (infer_dir / "plots" / f"{sample['recording_id'][0]}.png").exists()
