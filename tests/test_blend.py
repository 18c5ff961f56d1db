"""Blend weights searched on OOF only: never below the best input, per-class weights guarded by a
nested CV."""
import numpy as np
import pytest

from blend import align, combine, fit_blend, hill_climb, rank_columns
from metrics import lwlrap, mean_average_precision
from oof import Oof


def synthetic(seed: int, n: int = 240, n_classes: int = 6, n_folds: int = 4,
              good: list[tuple[float, ...]] | None = None):
    """Targets, folds and one noisy prediction per entry of `good` (that input's signal
    strength per class: where it is low, its scores of that class are mostly noise)."""
    rng = np.random.default_rng(seed)
    y = (rng.random((n, n_classes)) < 0.25).astype(np.float32)
    y[np.arange(n), rng.integers(n_classes, size=n)] = 1
    folds = np.arange(n) % n_folds
    good = good or [(1.0,) * n_classes, (0.6,) * n_classes]
    preds = [1 / (1 + np.exp(-(np.asarray(g) * 3 * (y - 0.5) + rng.normal(size=y.shape))))
             for g in good]
    return y, folds, preds


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("method", ["weighted", "rank"])
def test_searched_blend_scores_at_least_best_input(seed, method):
    """Hill climbing starts from the best input and only takes steps that raise the OOF score
    (rank: the best input's ranks)."""
    y, folds, preds = synthetic(seed, good=[(1.0,) * 6, (0.7,) * 6, (0.2,) * 6])
    blend = fit_blend(method, preds, y, folds, lwlrap)
    inputs = [rank_columns(p) for p in preds] if method == "rank" else preds
    assert lwlrap(y, blend.oof) >= max(lwlrap(y, p) for p in inputs)
    assert blend.weights.shape == (3,) and np.all(blend.weights >= 0)
    assert np.isclose(blend.weights.sum(), 1)


def test_complementary_inputs_blend_above_both():
    y, folds, preds = synthetic(0, good=[(1.0,) * 6, (1.0,) * 6])
    blend = fit_blend("weighted", preds, y, folds, lwlrap)
    assert lwlrap(y, blend.oof) > max(lwlrap(y, p) for p in preds) + 0.01
    assert lwlrap(y, blend.nested) > max(lwlrap(y, p) for p in preds)  # survives unseen folds
    assert blend.weights.min() > 0.2  # both kept


def test_hill_climb_drops_a_useless_input():
    y, _, preds = synthetic(1, good=[(1.0,) * 6, (0.0,) * 6])  # the second is pure noise
    w = hill_climb(preds, lambda b: lwlrap(y, b))
    assert w[0] == 1.0 and w[1] == 0.0


def test_per_class_weights_kept_when_inputs_specialise():
    """Input A knows classes 0-2, input B classes 3-5: per-class weights win on unseen folds."""
    a, b = (1.5, 1.5, 1.5, 0.0, 0.0, 0.0), (0.0, 0.0, 0.0, 1.5, 1.5, 1.5)
    y, folds, preds = synthetic(2, n=400, good=[a, b])
    blend = fit_blend("per-class", preds, y, folds, mean_average_precision)
    assert blend.method == "per-class" and "kept" in blend.note
    assert blend.weights.shape == (6, 2)
    assert np.all(blend.weights[:3, 0] > 0.5) and np.all(blend.weights[3:, 1] > 0.5)


def test_per_class_weights_refused_when_they_only_fit_noise():
    """Exchangeable inputs on few rows: per-class weights chase noise, the nested CV (chosen on
    the other folds, scored on the held-out one) says so, and the global weights are kept."""
    y, folds, preds = synthetic(3, n=60, n_classes=8, good=[(0.8,) * 8] * 4)
    blend = fit_blend("per-class", preds, y, folds, mean_average_precision)
    assert blend.method == "weighted" and "refused" in blend.note
    assert blend.weights.ndim == 1


def test_combine_and_rank_columns():
    p = [np.array([[0.1, 0.9], [0.3, 0.2]]), np.array([[0.5, 0.5], [0.7, 0.0]])]
    assert np.allclose(combine(p, np.array([1.0, 3.0])), (p[0] + 3 * p[1]) / 4)
    per_class = np.array([[1.0, 0.0], [0.0, 1.0]])  # class 0 from the first, class 1 the second
    assert np.allclose(combine(p, per_class), np.stack([p[0][:, 0], p[1][:, 1]], axis=1))
    assert np.allclose(rank_columns(np.array([[0.3], [0.9], [0.1]])), [[0.5], [1.0], [0.0]])


def oof(name: str, ids: list[str], folds, preds, classes=("a", "b"), competition="rfcx") -> Oof:
    y = (np.asarray(preds) > 0.5).astype(np.float32)
    return Oof(name, competition, {}, "lwlrap", list(classes), list(ids), np.asarray(folds), y,
               np.asarray(preds, dtype=np.float32), 0.0, {})


def test_align_reorders_and_refuses_misaligned_inputs():
    p = [[0.9, 0.1], [0.2, 0.8], [0.7, 0.6]]
    ref = oof("a", ["r1", "r2", "r3"], [0, 1, 1], p)
    shuffled = oof("b", ["r3", "r1", "r2"], [1, 0, 1], [p[2], p[0], p[1]])
    _, b = align([ref, shuffled])
    assert b.ids == ref.ids and np.array_equal(b.preds, ref.preds)

    cases = {"OOF rows differ": oof("c", ["r1", "r2", "r4"], [0, 1, 1], p),
             "fold assignments differ": oof("c", ["r1", "r2", "r3"], [1, 1, 0], p),
             "class lists differ": oof("c", ["r1", "r2", "r3"], [0, 1, 1], p, ("a", "c")),
             "competitions differ": oof("c", ["r1", "r2", "r3"], [0, 1, 1], p,
                                        competition="cornell2020"),
             "targets differ": oof("c", ["r1", "r2", "r3"], [0, 1, 1], p[::-1]),
             "duplicate OOF ids": oof("c", ["r1", "r1", "r3"], [0, 1, 1], p)}
    for message, other in cases.items():
        with pytest.raises(SystemExit, match=message):
            align([ref, other])


def test_align_refuses_non_finite_or_repeated_inputs():
    y, folds, (p, q) = synthetic(5, n=40)
    ids = [f"r{i}" for i in range(40)]

    def oof(name, preds):
        return Oof(name, "rfcx", {}, "lwlrap", list("abcdef"), ids, folds, y, preds, 0.0, {})

    q = q.copy()
    q[3, 1] = np.inf
    with pytest.raises(SystemExit, match=r"^b: 1 of 240 OOF predictions are NaN or inf; it "
                                         r"cannot be blended$"):
        align([oof("a", p), oof("b", q)])
    with pytest.raises(SystemExit, match=r"^a: given more than once"):
        align([oof("a", p), oof("a", p)])
