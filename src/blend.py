"""Blend experiments from their out-of-fold (OOF) predictions only.

Weights are searched on OOF rows, never on test rows, and every search can be cross-fitted
(`cross_fit`: fitted on the other folds, applied to the held-out one) to give a nested CV, the
honest estimate of what a searched blend scores on data it did not choose its weights on.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from metrics import average_precision
from oof import Oof, refuse_nonfinite

Score = Callable[[np.ndarray, np.ndarray], float]
METHODS = ("mean", "weighted", "rank", "per-class")


def align(oofs: list[Oof]) -> list[Oof]:
    """Put every OOF in the first one's row order; refuse inputs that do not line up, since a
    blend of misaligned rows scores nonsense."""
    ref = oofs[0]
    names = [o.experiment for o in oofs]
    if twice := sorted({n for n in names if names.count(n) > 1}):
        raise SystemExit(f"{', '.join(twice)}: given more than once; blend each experiment once")
    for o in oofs:
        if len(set(o.ids)) != len(o.ids):
            raise SystemExit(f"{o.experiment}: duplicate OOF ids; its OOF files are corrupt")
        # NaN in one input changes every blend's score, even at weight 0 (0 * NaN = NaN)
        refuse_nonfinite(o.preds, o.experiment, "OOF predictions", "it cannot be blended")
    index = {rid: i for i, rid in enumerate(ref.ids)}
    aligned = [ref]
    for o in oofs[1:]:
        name = f"{o.experiment} vs {ref.experiment}"
        if o.competition != ref.competition:
            raise SystemExit(f"{name}: competitions differ ({o.competition} != {ref.competition})")
        if o.classes != ref.classes:
            diff = sorted(set(o.classes) ^ set(ref.classes))[:5]
            raise SystemExit(f"{name}: class lists differ ({len(o.classes)} vs "
                             f"{len(ref.classes)} classes; " + (f"e.g. {diff}" if diff else
                                                                "same classes, other order") + ")")
        if sorted(o.ids) != sorted(ref.ids):
            extra, missing = set(o.ids) - set(index), set(ref.ids) - set(o.ids)
            raise SystemExit(f"{name}: OOF rows differ ({len(extra)} extra, {len(missing)} "
                             "missing); train the same folds on the same data")
        o = o.take(np.argsort([index[rid] for rid in o.ids]))
        aligned.append(o)
        if not np.array_equal(o.folds, ref.folds):
            moved = int(np.sum(o.folds != ref.folds))
            raise SystemExit(f"{name}: fold assignments differ for {moved} rows; blend "
                             "experiments sharing n_folds and seed")
        if not np.array_equal(o.targets, ref.targets):
            raise SystemExit(f"{name}: targets differ for the same ids")
    return aligned


def fold_scores(score: Score, y: np.ndarray, p: np.ndarray, folds: np.ndarray) -> list[float]:
    return [score(y[folds == f], p[folds == f]) for f in np.unique(folds)]


def rank_columns(p: np.ndarray) -> np.ndarray:
    """Each class's scores replaced by their rank in [0, 1] within the set: scale-free, so
    inputs calibrated differently mix fairly (ranking metrics only: a rank is no probability)."""
    order = np.argsort(p, axis=0, kind="mergesort")
    ranks = np.empty_like(p, dtype=np.float64)
    np.put_along_axis(ranks, order, np.arange(len(p), dtype=np.float64)[:, None], axis=0)
    return ranks / max(len(p) - 1, 1)


def combine(preds: list[np.ndarray], weights: np.ndarray) -> np.ndarray:
    """Weighted mean of the inputs; `weights` is (inputs,) or per class (classes, inputs)."""
    w = np.asarray(weights, dtype=np.float64)
    stack = np.stack(preds)  # (inputs, rows, classes)
    if w.ndim == 1:
        return np.tensordot(w, stack, axes=1) / w.sum()
    return np.einsum("ci,irc->rc", w, stack) / w.sum(1)


def hill_climb(preds: list[np.ndarray], score: Callable[[np.ndarray], float],
               max_rounds: int = 40) -> np.ndarray:
    """Ensemble selection with replacement (Caruana et al. 2004): start from the best single
    input, then repeatedly add the input whose extra vote raises the score most; stop when
    none does. Weights are vote counts, so the blend never scores below the best input."""
    votes = np.zeros(len(preds))
    singles = [score(p) for p in preds]
    votes[int(np.argmax(singles))] = 1
    best = max(singles)
    total = preds[int(np.argmax(singles))].astype(np.float64)
    for _ in range(max_rounds):
        n = votes.sum()
        trials = [score((total + p) / (n + 1)) for p in preds]
        k = int(np.argmax(trials))
        if not trials[k] > best + 1e-12:
            break
        best, votes[k], total = trials[k], votes[k] + 1, total + preds[k]
    return votes / votes.sum()


def per_class_weights(preds: list[np.ndarray], y: np.ndarray, fallback: np.ndarray,
                      min_positives: int = 2) -> np.ndarray:
    """(classes, inputs): each class's weights climbed on that class's average precision;
    classes with fewer than `min_positives` OOF positives keep the global `fallback`."""
    weights = np.tile(fallback, (y.shape[1], 1))
    for c in range(y.shape[1]):
        if (y[:, c] > 0).sum() >= min_positives:
            weights[c] = hill_climb([p[:, c] for p in preds],
                                    lambda s, c=c: average_precision(y[:, c], s))
    return weights


def cross_fit(fit: Callable[[np.ndarray], object],
              apply: Callable[[object, np.ndarray], np.ndarray], folds: np.ndarray,
              out_shape: tuple[int, ...]) -> np.ndarray:
    """Held-out outputs: for each fold, `fit(train_mask)` on the other folds, then
    `apply(params, held_out_mask)` on it. Scoring them gives the nested CV."""
    out = np.zeros(out_shape)
    for f in np.unique(folds):
        held = folds == f
        out[held] = apply(fit(~held), held)
    return out


@dataclass
class Blend:
    method: str
    weights: np.ndarray  # (inputs,) or (classes, inputs)
    oof: np.ndarray  # the blended OOF, weights fitted on every fold
    nested: np.ndarray  # the blended OOF, each fold's weights fitted on the other folds
    note: str = ""

    def apply(self, preds: list[np.ndarray]) -> np.ndarray:
        """The same blend of other predictions of the same inputs (the test set)."""
        return combine([rank_columns(p) for p in preds] if self.method == "rank" else preds,
                       self.weights)


def fit_blend(method: str, preds: list[np.ndarray], y: np.ndarray, folds: np.ndarray,
              score: Score) -> Blend:
    """Weights by `method`, chosen on OOF only (see METHODS and ensemble.py's --help)."""
    if method not in METHODS:
        raise SystemExit(f"unknown method {method!r}; known: {', '.join(METHODS)}")
    inputs = [rank_columns(p) for p in preds] if method == "rank" else preds
    if method == "mean":
        w = np.full(len(preds), 1.0 / len(preds))
        blended = combine(inputs, w)
        return Blend(method, w, blended, blended)

    def fit_global(mask: np.ndarray) -> np.ndarray:
        return hill_climb([p[mask] for p in inputs], lambda b: score(y[mask], b))

    def apply(w: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return combine([p[mask] for p in inputs], w)

    w = fit_global(np.ones(len(y), dtype=bool))
    nested = cross_fit(fit_global, apply, folds, y.shape)
    if method != "per-class":
        return Blend(method, w, combine(inputs, w), nested)

    def fit_class(mask: np.ndarray) -> np.ndarray:
        return per_class_weights([p[mask] for p in inputs], y[mask], fit_global(mask))

    nested_pc = cross_fit(fit_class, apply, folds, y.shape)
    gain = score(y, nested_pc) - score(y, nested)
    if gain <= 0:  # the guard: per-class weights that do not survive unseen folds are noise
        return Blend("weighted", w, combine(inputs, w), nested,
                     f"per-class weights refused: nested CV {gain:+.4f} vs global weights")
    wc = per_class_weights(inputs, y, w)
    return Blend(method, wc, combine(inputs, wc), nested_pc,
                 f"per-class weights kept: nested CV {gain:+.4f} vs global weights")
