"""Real competition files from ../shared/data (skipped where that folder is absent)."""
import pandas as pd
import pytest

import infer
import prepare
import train
from conftest import SHARED_DATA
from make_demo import make_cornell2020_demo

CORNELL = SHARED_DATA / "cornell-example"


@pytest.mark.skipif(not CORNELL.exists(), reason="../shared/data/cornell-example not present")
def test_full_fit_then_real_cornell_soundscapes_give_test_csv_rows(tmp_path, monkeypatch,
                                                                   write_config):
    """Train a tiny full-fit model on a Cornell-layout demo, then infer the real test mp3s
    (22.05 and 48 kHz, 10-minute files, a site_3 clip): the submission's row_ids must be
    test.csv's, in order."""
    make_cornell2020_demo(tmp_path / "cornell-demo", seed=0, n_species=3, n_train=6, n_test=1,
                          duration=6.0, sr=16000)
    config = write_config(
        tmp_path / "cornellx.py", competition="cornell2020",
        data_dir=str(tmp_path / "cornell-demo"), test_dir=str(CORNELL), sample_rate=8000,
        duration=5.0, n_folds=2, full_fit=True, epochs=1, batch_size=4, n_fft=256, hop_length=160,
        mel_bins=16, backbone="resnet10t", head_hidden=16)
    monkeypatch.chdir(tmp_path)
    prepare.main([config])
    train.main([config])
    assert (tmp_path / "models/cornellx/full.pt").exists()
    assert not list((tmp_path / "models/cornellx").glob("fold*.pt"))
    infer.main([config])
    expected = pd.read_csv(CORNELL / "test.csv", dtype=str)["row_id"].tolist()
    sub = pd.read_csv(tmp_path / "submissions/cornellx.csv", dtype=str)
    assert list(sub.columns) == ["row_id", "birds"]
    assert sub["row_id"].tolist() == expected
    assert sub["birds"].notna().all()
