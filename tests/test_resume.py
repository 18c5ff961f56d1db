"""A fold killed mid-epoch resumes from its last checkpoint and ends exactly like a run that
was never interrupted: same weights, same validation metrics."""
import pandas as pd
import pytest
import torch

import prepare
import train


@pytest.fixture(scope="module")
def config_path(rfcx_tiny, write_config_module):
    root = rfcx_tiny
    path = write_config_module(
        root / "tinyresume.py", data_dir=str(root / "tiny"), cache_dir=str(root / "cache"),
        sample_rate=8000, duration=1.0, n_folds=2, crops_per_file=2, epochs=2, batch_size=4,
        n_fft=256, hop_length=128, mel_bins=16, backbone="resnet10t", head_hidden=16,
        num_workers=0, checkpoint_every=2, mixup=dict(alpha=0.4, on="logmel"), ema=0.9,
        spec_augment=dict(time_drop_width=4, time_stripes_num=1, freq_drop_width=2,
                          freq_stripes_num=1))
    prepare.main([path])
    return path


def run_fold(config_path, workdir, monkeypatch, *extra):
    monkeypatch.chdir(workdir)
    train.main([str(config_path), "--fold", "0", *extra])
    out = workdir / "models" / "tinyresume"
    return (pd.read_csv(out / "log_fold0.csv"),
            torch.load(out / "fold0.last.pt", weights_only=False)["model"])


def test_killed_run_resumes_to_the_same_result(config_path, tmp_path, monkeypatch):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    log_a, weights_a = run_fold(config_path, tmp_path / "a", monkeypatch)
    # 3 optimizer steps per epoch: stop in the middle of epoch 1, then twice more
    run_fold(config_path, tmp_path / "b", monkeypatch, "--max-steps", "4")
    state = torch.load(tmp_path / "b/models/tinyresume/fold0.last.pt", weights_only=False)
    assert (state["epoch"], state["step"]) == (1, 1)
    run_fold(config_path, tmp_path / "b", monkeypatch, "--max-steps", "1")
    log_b, weights_b = run_fold(config_path, tmp_path / "b", monkeypatch)
    pd.testing.assert_frame_equal(log_a, log_b)
    for key in weights_a:
        assert torch.equal(weights_a[key], weights_b[key]), key
