"""Thresholds and temporal postprocessing chosen on OOF: each raises the score where the data
call for it, and is left off where it does not."""
import numpy as np

from metrics import f1_rowwise, lwlrap
from configs import Config
from postprocess import (GRID, Temporal, Thresholds, f1_of, f1_per_threshold, neighbours,
                         recording_prior, search_temporal, search_thresholds, smooth,
                         temporal_rows)


def soundscape_rows(seed: int, n_rec: int = 40, n_rows: int = 12, n_classes: int = 5,
                    call_len: int = 3):
    """Rows of recordings where each call spans `call_len` consecutive rows, scored with
    independent noise per row: the structure smoothing and a recording prior exploit."""
    rng = np.random.default_rng(seed)
    y = np.zeros((n_rec * n_rows, n_classes), dtype=np.float32)
    audio = np.repeat([f"rec{i}" for i in range(n_rec)], n_rows).tolist()
    t_start = np.tile(np.arange(n_rows) * 5.0, n_rec)
    for r in range(n_rec):
        for c in rng.choice(n_classes, size=rng.integers(1, 3), replace=False):
            start = r * n_rows + rng.integers(n_rows - call_len)
            y[start:start + call_len, c] = 1
    p = 1 / (1 + np.exp(-(2.0 * (y - 0.5) + 1.2 * rng.normal(size=y.shape))))
    folds = np.repeat(np.arange(n_rec) % 4, n_rows)
    return y, p, audio, t_start, folds


def test_neighbours_stay_inside_a_recording_and_follow_time():
    audio = ["b", "a", "a", "b", "a"]
    t = np.array([5.0, 10.0, 0.0, 0.0, 5.0])
    prev, nxt = neighbours(audio, t)
    assert prev.tolist() == [3, 4, -1, -1, 2]
    assert nxt.tolist() == [-1, -1, 4, 0, 1]
    p = np.array([[1.0], [0.0], [0.0], [0.0], [0.0]])
    assert np.allclose(smooth(p, audio, t, 1.0)[:, 0], [0.5, 0, 0, 0.5, 0])  # no leak to "a"
    assert np.allclose(recording_prior(p, audio, 0.5)[:, 0], [1.0, 0, 0, 0.5, 0])


def test_smoothing_weighs_neighbours_by_alpha_by_hand():
    """alpha = 0.5: each neighbour counts half a row, in the sum and in the divisor, so an
    edge row (one neighbour) divides by 1.5 and a middle row (two) by 2."""
    rows = np.array([[0.0, 1.0], [1.0, 0.0], [0.0, 0.0]])
    expected = [[0.5 / 1.5, 1 / 1.5],  # (0 + 0.5 * 1) / 1.5, (1 + 0.5 * 0) / 1.5
                [1 / 2, 0.5 / 2],  # (1 + 0.5 * (0 + 0)) / 2, (0 + 0.5 * (1 + 0)) / 2
                [0.5 / 1.5, 0.0]]  # (0 + 0.5 * 1) / 1.5, (0 + 0.5 * 0) / 1.5
    assert np.allclose(smooth(rows, ["r"] * 3, np.arange(3.0), 0.5), expected)


def test_validation_rows_follow_the_configs_temporal_step():
    rows = np.array([[0.0, 1.0], [1.0, 0.0], [0.0, 0.0]])
    assert temporal_rows(Config().infer_temporal, rows) is rows
    both = temporal_rows(Config(infer_temporal=dict(smoothing=0.5, prior=0.2)).infer_temporal,
                         rows)
    steps = recording_prior(smooth(rows, ["r"] * 3, np.arange(3.0), 0.5), ["r"] * 3, 0.2)
    assert np.allclose(both, steps)
    smoothed = temporal_rows(Config(infer_temporal=dict(smoothing=1.0)).infer_temporal, rows)
    assert np.allclose(smoothed[:, 0], [0.5, 1 / 3, 0.5])


def test_temporal_search_raises_oof_score_on_calls_spanning_rows():
    y, p, audio, t_start, _ = soundscape_rows(0)
    chosen, lines = search_temporal(y, p, audio, t_start, lwlrap)
    assert chosen.smoothing > 0, lines
    assert lwlrap(y, chosen.apply(p, audio, t_start)) > lwlrap(y, p) + 0.01


def rows_cycling(seed: int, classes_per_recording: int, n_rec: int = 40, n_rows: int = 12,
                 n_classes: int = 6):
    """One call per row, never the same class in two neighbouring rows; each recording cycles
    through `classes_per_recording` classes."""
    rng = np.random.default_rng(seed)
    y = np.zeros((n_rec * n_rows, n_classes), dtype=np.float32)
    for r in range(n_rec):
        cycle = rng.choice(n_classes, classes_per_recording, replace=False)
        y[r * n_rows + np.arange(n_rows), np.resize(cycle, n_rows)] = 1
    p = 1 / (1 + np.exp(-(2.0 * (y - 0.5) + 1.2 * rng.normal(size=y.shape))))
    audio = np.repeat([f"rec{i}" for i in range(n_rec)], n_rows).tolist()
    return y, p, audio, np.tile(np.arange(n_rows) * 5.0, n_rec)


def test_temporal_steps_are_judged_each_on_its_own():
    """Two classes alternating row by row: neighbours hold the other class, so smoothing is
    refused; the recording max singles out the two classes of the recording, so the prior is
    kept."""
    y, p, audio, t_start = rows_cycling(0, classes_per_recording=2)
    chosen, lines = search_temporal(y, p, audio, t_start, lwlrap)
    assert chosen.smoothing == 0 and chosen.prior > 0, lines
    assert lwlrap(y, chosen.apply(p, audio, t_start)) > lwlrap(y, p) + 0.03


def test_temporal_steps_stay_off_when_every_class_is_in_every_recording():
    """Every class in every recording, never twice in a row: neither the neighbours nor the
    recording max carry information, and neither step is kept."""
    y, p, audio, t_start = rows_cycling(0, classes_per_recording=6)
    chosen, lines = search_temporal(y, p, audio, t_start, lwlrap)
    assert chosen == Temporal(), lines


def test_threshold_search_raises_f1_and_handles_nocall():
    """Under-confident scores (true calls around 0.3) with many silent rows: the default 0.5
    misses most calls; the searched threshold finds them and keeps silent rows `nocall`."""
    rng = np.random.default_rng(0)
    n, n_classes = 800, 6
    y = np.zeros((n, n_classes), dtype=np.float32)
    calls = rng.random(n) < 0.4
    y[np.flatnonzero(calls), rng.integers(n_classes, size=calls.sum())] = 1
    p = np.clip(0.08 + 0.25 * y + 0.07 * rng.normal(size=y.shape), 0, 1)
    folds = np.arange(n) % 4
    rule, lines = search_thresholds(y, p, folds)
    assert f1_of(y, p, rule) > f1_rowwise(y, p, 0.5) + 0.3, lines
    silent = ~y.any(1)
    assert rule.decide(p)[silent].sum(1).mean() < 0.2  # silent rows mostly predicted nocall


def test_nocall_rule_names_the_top_class_of_a_called_row():
    p = np.array([[0.4, 0.3, 0.1], [0.2, 0.1, 0.1], [0.9, 0.8, 0.1]])
    pred = Thresholds(threshold=0.7, nocall=0.35).decide(p)
    assert pred.tolist() == [[1, 0, 0], [0, 0, 0], [1, 1, 0]]


def test_per_class_thresholds_kept_by_nested_cv_when_classes_differ_in_scale():
    """Each class calibrated on its own scale: one global threshold cannot fit all, per-class
    thresholds can, and they hold on the held-out folds."""
    rng = np.random.default_rng(1)
    n, n_classes = 1200, 4
    y = (rng.random((n, n_classes)) < 0.2).astype(np.float32)
    scale = np.array([0.15, 0.35, 0.6, 0.9])
    p = np.clip(scale * (0.7 * y + 0.15 + 0.08 * rng.normal(size=y.shape)), 0, 1)
    rule, lines = search_thresholds(y, p, np.arange(n) % 4)
    assert rule.per_class is not None, lines
    assert f1_of(y, p, rule) > f1_of(y, p, Thresholds(rule.threshold, rule.nocall)) + 0.1


def test_per_class_thresholds_refused_when_one_scale_fits_all():
    rng = np.random.default_rng(2)
    n, n_classes = 200, 8
    y = (rng.random((n, n_classes)) < 0.1).astype(np.float32)
    p = np.clip(0.5 * y + 0.25 + 0.2 * rng.normal(size=y.shape), 0, 1)
    rule, lines = search_thresholds(y, p, np.arange(n) % 4)
    assert rule.per_class is None, lines


def test_f1_per_threshold_matches_the_metric_at_each_threshold():
    rng = np.random.default_rng(3)
    y = (rng.random((300, 7)) < 0.15).astype(np.float32)
    p = np.round(rng.random((300, 7)), 2)  # scores equal to grid values: ties count as reached
    expected = [f1_rowwise(y, p, t) for t in GRID]
    assert np.allclose(f1_per_threshold(y, p), expected, atol=1e-12)
