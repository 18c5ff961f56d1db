"""Each weak-label demo layout trained, inferred and scored end to end (rfcx: test_pipeline)."""
import re

import pytest

import infer
import prepare
import score
import train
from make_demo import LAYOUTS


@pytest.mark.parametrize("layout, metric", [("cornell2020", "f1_rowwise"),
                                            ("birdclef", "padded_cmap")])
def test_demo_layout_trains_infers_and_scores(layout, metric, tmp_path, monkeypatch, capsys,
                                              write_config):
    LAYOUTS[layout](tmp_path / "input" / "demo", seed=4, n_species=3, n_train=8, n_test=1,
                    duration=6.0, sr=16000)
    config = write_config(
        tmp_path / f"e2e{layout}.py", competition=layout, data_dir="input/demo",
        solution_csv="input/demo.solution.csv", sample_rate=8000, duration=2.0, n_folds=2,
        epochs=1, batch_size=4, n_fft=256, hop_length=160, mel_bins=16, backbone="resnet10t",
        head_hidden=16, num_workers=0)
    monkeypatch.chdir(tmp_path)
    for step in (prepare, train, infer):
        step.main([config])
    capsys.readouterr()
    score.main([config])
    line = capsys.readouterr().out.strip().splitlines()[-1]
    m = re.search(rf"cv_{metric}=(\S+) test_{metric}=(\S+) ", line)
    assert m, line
    assert 0 <= float(m[1]) <= 1 and 0 <= float(m[2]) <= 1
