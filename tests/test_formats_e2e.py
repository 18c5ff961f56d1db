"""Each weak-label demo layout trained, inferred and scored end to end (rfcx: test_pipeline)."""
import json
import re

import pytest

import infer
import prepare
import score
import sweep
import train
from configs import load_config
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
    # both views of validation; Cornell's labelled example soundscapes replace mixed ones
    scores = json.loads((tmp_path / "models" / f"e2e{layout}" / "scores_fold0.json").read_text())
    assert {"lwlrap", "scape_auc", "scape_lwlrap"} <= set(scores)
    cache = tmp_path / "input" / "cache" / "demo-8000"
    assert (cache / "soundscape").is_dir() == (layout == "cornell2020")
    assert (cache / "soundscapes").is_dir() == (layout != "cornell2020")
    if layout == "birdclef":
        # sweep.py aggregate scores the soundscape view too: with the validation's own window,
        # row reduction and no mixing, it gives what validation gave
        out = sweep.aggregate(load_config(config), results=tmp_path / "agg.csv")
        same = [o for o in out if (o["windows"], o["row"], o["recording"], o["smoothing"],
                                   o["prior"]) == ("2 s", "max", "max", 0.0, 0.0)]
        assert len(same) == 1
        for fold in (0, 1):
            kept = json.loads((tmp_path / "models" / f"e2e{layout}" / f"scores_fold{fold}.json")
                              .read_text())
            for key in ("scape_auc", "scape_lwlrap", "lwlrap"):
                assert same[0][key][fold] == pytest.approx(kept[key], abs=1e-6), key
        smoothed = [o for o in out if (o["windows"], o["smoothing"]) == ("2 s", 0.5)][0]
        assert [smoothed[k] for k in ("scape_auc", "scape_cmap")] != [  # mixing reaches rows
            same[0][k] for k in ("scape_auc", "scape_cmap")]
        # sweep.py levels: the view at its own levels gives validation's scores, and other
        # levels make other soundscapes
        out = sweep.levels(load_config(config), [(0.0, 20.0), (-20.0, -10.0)],
                           results=tmp_path / "levels.csv")
        for fold in (0, 1):
            kept = json.loads((tmp_path / "models" / f"e2e{layout}" / f"scores_fold{fold}.json")
                              .read_text())
            assert out[0]["scape_auc"][fold] == pytest.approx(kept["scape_auc"], abs=1e-6)
        assert out[1]["scape_cmap"] != out[0]["scape_cmap"]
        assert "levels" in (tmp_path / "levels.csv").read_text()
