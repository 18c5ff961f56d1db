"""prepare.py: idempotent caching, and malformed labels stopped with file, line and problem."""
import pandas as pd
import pytest

import prepare
from make_demo import make_rfcx_demo


@pytest.fixture
def demo(tmp_path, write_config):
    make_rfcx_demo(tmp_path / "comp", seed=3, n_species=3, n_train=6, n_test=2, duration=3.0,
                   sr=8000)
    return tmp_path, write_config(tmp_path / "tinyprep.py", data_dir=str(tmp_path / "comp"),
                                  cache_dir=str(tmp_path / "cache"), sample_rate=8000,
                                  n_folds=2, num_workers=1)


def test_second_run_reuses_the_cache(demo, capsys):
    root, config = demo
    prepare.main([config])
    first = {p: p.stat().st_mtime_ns for p in (root / "cache").rglob("*.npy")}
    assert len(first) == 8
    prepare.main([config])
    assert "8 already cached" in capsys.readouterr().out
    assert {p: p.stat().st_mtime_ns for p in (root / "cache").rglob("*.npy")} == first


@pytest.mark.parametrize("change, message", [
    (lambda df: df.assign(t_max=df.t_max.where(df.index != 1, 99.0)), r"line 3: t_max=99.0 is beyond"),
    (lambda df: df.assign(t_min=df.t_min.where(df.index != 2, 2.9),
                          t_max=df.t_max.where(df.index != 2, 1.0)), r"line 4: needs 0 <= t_min < t_max"),
    (lambda df: df.assign(species_id=df.species_id.where(df.index != 0, 7)), r"line 2: species_id '7'"),
    (lambda df: df.drop(columns="t_min"), r"line 1: missing column"),
])
def test_malformed_labels_name_file_line_and_problem(demo, change, message):
    root, config = demo
    path = root / "comp" / "train_tp.csv"
    change(pd.read_csv(path, dtype={"recording_id": str})).to_csv(path, index=False)
    with pytest.raises(SystemExit, match=rf"train_tp\.csv {message}"):
        prepare.main([config])


def test_negative_audio_is_cached_and_trains_with_every_class_absent(demo, write_config):
    import numpy as np
    import soundfile as sf

    from configs import load_config
    from datasets import SedDataset
    from recordings import negative_recordings

    root, _ = demo
    folder = root / "nocall" / "site_a"
    folder.mkdir(parents=True)
    t = np.arange(3 * 16000) / 16000
    sf.write(folder / "dawn.wav", (0.3 * np.sin(2 * np.pi * 3000 * t)).astype(np.float32), 16000)
    sf.write(folder / "broken.wav", np.zeros(0, dtype=np.float32), 16000)
    config = write_config(root / "tinyneg.py", data_dir=str(root / "comp"),
                          cache_dir=str(root / "cache"), sample_rate=8000, n_folds=2,
                          num_workers=1, negative_audio=str(root / "nocall"))
    prepare.main([config])
    cfg = load_config(config)
    negatives = negative_recordings(cfg)
    assert negatives["id"].tolist() == ["site_a__dawn"]  # resampled; the empty file left out
    assert (root / "cache" / "negative" / "site_a__dawn.npy").exists()
    item = SedDataset(negatives, pd.DataFrame(columns=["id", "cls", "t_min", "t_max"]), 3,
                      8000, 1.0, 128)[0]
    assert item["target"].sum() == 0 and item["weight"].min() == 1  # absent, and in the loss
    assert item["wave"].abs().max() > 0.1  # its audio, not silence
    cfg.negative_repeat = 3  # drawn three times as often
    assert negative_recordings(cfg)["id"].tolist() == ["site_a__dawn"] * 3
