import numpy as np
import pytest
from sklearn.metrics import (average_precision_score, f1_score,
                             label_ranking_average_precision_score)

from metrics import MetricMeter, f1_micro, lwlrap, mean_average_precision, top1_accuracy


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    y = (rng.random((200, 12)) < 0.15).astype(float)
    y[:5] = 0  # rows with no label
    s = rng.random((200, 12))
    s[10:20] = np.round(s[10:20], 1)  # ties
    s += 0.3 * y  # some signal
    return y, s


def test_lwlrap_matches_sklearn_label_weighted_lrap(data):
    y, s = data
    keep = y.sum(1) > 0
    ref = label_ranking_average_precision_score(y[keep], s[keep], sample_weight=y[keep].sum(1))
    assert lwlrap(y, s) == pytest.approx(ref, abs=1e-12)
    assert lwlrap(y, y) == pytest.approx(1.0)
    assert lwlrap(y, -s) < lwlrap(y, s)


def test_map_matches_sklearn_macro_over_present_classes(data):
    y, s = data
    y[:, 3] = 0  # a class without positives is skipped, not scored as 0
    present = y.sum(0) > 0
    ref = average_precision_score(y[:, present], s[:, present], average="macro")
    assert mean_average_precision(y, s) == pytest.approx(ref, abs=1e-12)


def test_f1_matches_sklearn_micro(data):
    y, s = data
    assert f1_micro(y, s, 0.6) == pytest.approx(f1_score(y, s >= 0.6, average="micro"))


def test_meter_accumulates_batches(data):
    y, s = data
    meter = MetricMeter(0.6)
    for i in range(0, 200, 64):
        meter.update(y[i:i + 64], s[i:i + 64])
    got = meter.compute()
    assert got["lwlrap"] == pytest.approx(lwlrap(y, s))
    assert got["map"] == pytest.approx(mean_average_precision(y, s))
    assert got["f1"] == pytest.approx(f1_micro(y, s, 0.6))


def test_top1_counts_rows_whose_best_class_is_a_label():
    truth = np.array([[1, 0, 0], [0, 1, 1], [0, 0, 1], [0, 0, 0]])
    scores = np.array([[.9, .1, 0], [.1, .2, .7], [.5, .4, .3], [1, 0, 0]])
    assert top1_accuracy(truth, scores) == 2 / 3  # the unlabelled row is left out
