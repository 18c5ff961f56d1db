"""Issue 27: Cornell 2020 row F1 scored as the competition scored its `birds` strings (repeated
and unknown truth codes), and folds that neither block a full fit nor crash on rare classes."""
import warnings

import numpy as np
import pandas as pd
import pytest

import metrics
import prepare
from competitions.tables import birds_multi_hot, birds_strings
from conftest import SHARED_DATA
from folds import make_folds
from make_demo import make_rfcx_demo

LABELS = SHARED_DATA / "cornell-example" / "labels.csv"


def string_f1(truth: list[str], pred: list[str]) -> float:
    """Independent reference: the competition's token loop over the space-separated strings.
    Each truth token is a hit if the prediction names it, else a miss; each predicted token
    the truth lacks is a false alarm; "nocall" is a token like any other."""
    total = 0.0
    for t, p in zip(truth, pred):
        t_tokens, p_tokens = t.split(), p.split()
        hit = sum(tok in p_tokens for tok in t_tokens)
        miss = len(t_tokens) - hit
        alarm = sum(tok not in t_tokens for tok in p_tokens)
        total += 2 * hit / (2 * hit + miss + alarm)
    return total / len(truth)


def test_hand_computed_rows() -> None:
    classes = ["a", "b", "c"]
    truth = ["a b b", "a x", "nocall", "c", "b"]
    scores = np.array([[0.9, 0.9, 0.0],   # a b: 2*3 / (2*3 + 0 + 0) = 1
                       [0.9, 0.0, 0.0],   # a (x unknown, a miss): 2*1 / (2+1) = 2/3
                       [0.0, 0.0, 0.0],   # nocall == nocall: 1
                       [0.0, 0.9, 0.9],   # b c vs c: 2*1 / (2+0+1) = 2/3
                       [0.9, 0.0, 0.0]])  # a vs b: 0
    y = birds_multi_hot(truth, classes)
    assert y[0].tolist() == [1, 2, 0] and y.outside.tolist() == [0, 1, 0, 0, 0]
    expected = (1 + 2 / 3 + 1 + 2 / 3 + 0) / 5
    assert metrics.f1_rowwise(y, scores, 0.5) == pytest.approx(expected)
    assert string_f1(truth, birds_strings(scores, classes, 0.5)) == pytest.approx(expected)
    # a repeat predicted is two hits; missed it is two misses: a b b vs a -> 2 / (2 + 2)
    assert metrics.f1_rowwise(y[:1], scores[:1] * [1, 0, 0], 0.5) == pytest.approx(0.5)
    # the unknown code is what lowers row 2 (dropped, it would score 1)
    assert metrics.f1_rowwise(np.asarray(y)[1:2], scores[1:2], 0.5) == 1.0
    assert metrics.f1_rowwise(y, scores, 0.5, outside=y.outside) == pytest.approx(expected)
    with pytest.raises(ValueError, match="outside"):
        metrics.f1_rowwise(y, scores, 0.5, outside=[1, 2])


def test_binary_truth_scores_as_before() -> None:
    """0/1 truth without repeats or unknown codes: the old set-based F1 (sklearn's samples F1
    with a nocall column)."""
    from sklearn.metrics import f1_score
    rng = np.random.default_rng(4)
    y = (rng.random((200, 5)) < 0.2).astype(int)
    s = rng.random((200, 5)) + 0.3 * y
    pred = (s >= 0.6).astype(int)
    nocall = lambda m: np.c_[m, m.sum(1) == 0]  # noqa: E731
    assert metrics.f1_rowwise(y, s, 0.6) == pytest.approx(
        f1_score(nocall(y), nocall(pred), average="samples"), abs=1e-12)


@pytest.mark.skipif(not LABELS.exists(), reason="no ../shared/data/cornell-example")
@pytest.mark.parametrize("drop", [0, 5])
def test_real_labels_match_the_string_metric(drop: int) -> None:
    """labels.csv has "cangoo purfin purfin"; dropping classes leaves truth codes that no class
    can predict. Either way the array F1 equals the token loop over the strings."""
    labels = pd.read_csv(LABELS, dtype=str)
    truth = labels["birds"].tolist()
    assert "cangoo purfin purfin" in truth
    codes = sorted({c for b in truth for c in b.split()} - {"nocall"})
    classes = codes[drop:]
    y = birds_multi_hot(truth, classes)
    assert (y.outside > 0).any() == bool(drop) and y.max() == 2
    rng = np.random.default_rng(drop)
    for threshold in (0.2, 0.5):
        scores = np.clip(rng.random((len(truth), len(classes))) ** 8 + 0.5 * np.asarray(y), 0, 1)
        got = metrics.f1_rowwise(y, scores, threshold)
        ref = string_f1(truth, birds_strings(scores, classes, threshold))
        assert got == pytest.approx(ref, abs=1e-12)


def _recordings(per_class: list[int]) -> pd.DataFrame:
    rows = [(f"r{c}_{k}", [c]) for c, n in enumerate(per_class) for k in range(n)]
    return pd.DataFrame({"id": [r[0] for r in rows], "group": [r[0] for r in rows],
                         "labels": [r[1] for r in rows], "secondary": [[] for _ in rows]})


def test_every_class_rarer_than_the_folds_warns_and_deals_them() -> None:
    rec = _recordings([1, 2, 1, 2, 2, 1, 2, 1, 2, 1, 2])  # 17 recordings, 11 classes
    rec.loc[[1, 2], "group"] = "one author"  # a group spanning two classes stays whole
    with pytest.warns(UserWarning, match="11 of 11 classes have fewer recordings than the 5"):
        folds = make_folds(rec, 5, seed=0)
    assert sorted(set(folds)) == [0, 1, 2, 3, 4]
    assert np.bincount(folds).max() - np.bincount(folds).min() <= 1
    assert folds[1] == folds[2]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert np.array_equal(folds, make_folds(rec, 5, seed=0))


def test_some_rare_classes_warn_and_keep_sklearns_split() -> None:
    from sklearn.model_selection import StratifiedGroupKFold
    rec = _recordings([6, 1, 6, 2])
    with pytest.warns(UserWarning, match="2 of 4 classes"):
        folds = make_folds(rec, 3, seed=1)
    y = [labels[0] for labels in rec["labels"]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        split = StratifiedGroupKFold(3, shuffle=True, random_state=1).split(rec, y, rec["group"])
        for k, (_, valid) in enumerate(split):
            assert (folds[valid] == k).all()  # folds made before issue 27 stay as they were


def test_fewer_groups_than_folds_still_stops() -> None:
    with pytest.raises(SystemExit, match="cannot make 5 folds of 3 recordings"):
        make_folds(_recordings([2, 1]), 5, seed=0)


def test_full_fit_prepares_without_folds(tmp_path, write_config, capsys) -> None:
    make_rfcx_demo(tmp_path / "comp", seed=3, n_species=3, n_train=4, n_test=1, duration=2.0,
                   sr=8000)
    fields = dict(data_dir=str(tmp_path / "comp"), cache_dir=str(tmp_path / "cache"),
                  sample_rate=8000, n_folds=5, num_workers=1)
    config = write_config(tmp_path / "fullfit.py", full_fit=True, **fields)
    prepare.main([config])
    assert "folds: none" in capsys.readouterr().out
    assert not list((tmp_path / "cache").rglob("folds_*.csv"))
    # the same data with folds: every species rarer than 5 folds, split with a warning
    with pytest.raises(SystemExit, match="cannot make 5 folds of 4 recordings"):
        prepare.main([write_config(tmp_path / "cv.py", **fields)])
    with pytest.warns(UserWarning, match="fewer recordings than the 3 folds"):
        prepare.main([write_config(tmp_path / "cv3.py", **{**fields, "n_folds": 3})])
    assert len(list((tmp_path / "cache").rglob("folds_k3_*.csv"))) == 1
