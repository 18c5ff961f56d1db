"""Postprocessing chosen on out-of-fold predictions only, each step kept only if it raises the
OOF CV:

- temporal, for rows that are chunks of a recording (soundscape formats): each row's scores
  smoothed with its neighbouring rows, then a recording prior (the max over the recording) mixed
  into every row, since a bird heard somewhere in a recording is likelier in its other rows;
- thresholds, for formats whose submission lists the species heard (row-wise F1): a global
  threshold, a `nocall` rule (a row names no species unless its top score reaches `nocall`, and
  then names at least its top one), and per-class thresholds, kept only if a nested CV (chosen
  on the other folds, scored on the held-out fold) says they beat the global one.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable

import numpy as np

from blend import cross_fit, fold_scores
from metrics import f1_rowwise

GRID = np.round(np.arange(0.02, 0.99, 0.02), 2)
SMOOTHING = (0.1, 0.25, 0.5, 1.0)
PRIOR = (0.1, 0.2, 0.3, 0.5, 0.7)
Score = Callable[[np.ndarray, np.ndarray], float]


# --- temporal ------------------------------------------------------------------------------

def neighbours(audio: list[str], t_start: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index of each row's previous and next row in the same recording (-1 where none)."""
    audio = np.asarray(audio)
    order = np.lexsort((np.nan_to_num(np.asarray(t_start, dtype=float)), audio))
    same = audio[order][1:] == audio[order][:-1]
    prev, nxt = np.full(len(audio), -1), np.full(len(audio), -1)
    prev[order[1:][same]] = order[:-1][same]
    nxt[order[:-1][same]] = order[1:][same]
    return prev, nxt


def smooth(p: np.ndarray, audio: list[str], t_start: np.ndarray, alpha: float) -> np.ndarray:
    """(row + alpha * (previous + next row)) / (1 + alpha * neighbours present)."""
    prev, nxt = neighbours(audio, t_start)
    total, count = p.astype(np.float64).copy(), np.ones(len(p))
    for idx in (prev, nxt):
        has = idx >= 0
        total[has] += alpha * p[idx[has]]
        count[has] += alpha
    return total / count[:, None]


def recording_prior(p: np.ndarray, audio: list[str], beta: float) -> np.ndarray:
    """(1 - beta) * row + beta * the recording's max over its rows, per class."""
    _, inverse = np.unique(np.asarray(audio), return_inverse=True)
    peak = np.full((inverse.max() + 1, p.shape[1]), -np.inf)
    np.maximum.at(peak, inverse, p)
    return (1 - beta) * p + beta * peak[inverse]


@dataclass
class Temporal:
    smoothing: float = 0.0  # alpha of `smooth`; 0 = off
    prior: float = 0.0  # beta of `recording_prior`; 0 = off

    def apply(self, p: np.ndarray, audio: list[str], t_start: np.ndarray) -> np.ndarray:
        if self.smoothing:
            p = smooth(p, audio, t_start, self.smoothing)
        if self.prior:
            p = recording_prior(p, audio, self.prior)
        return p


def temporal_rows(spec: dict | None, rows: np.ndarray) -> np.ndarray:
    """One recording's 5-s rows (in time order) after `Temporal(**spec)`, a config's
    `infer_temporal`; None leaves them as they are."""
    if not spec:
        return rows
    return Temporal(**spec).apply(rows, [""] * len(rows), np.arange(len(rows)))


def search_temporal(y: np.ndarray, p: np.ndarray, audio: list[str], t_start: np.ndarray,
                    score: Score) -> tuple[Temporal, list[str]]:
    """Smoothing, then the prior on top: each strength taken from its grid only if it raises
    the OOF score over what was kept before. Returns the choice and a line per step."""
    chosen, lines = Temporal(), []
    best = score(y, p)
    for field, grid in (("smoothing", SMOOTHING), ("prior", PRIOR)):
        trials = {v: score(y, Temporal(**{**asdict(chosen), field: v}).apply(p, audio, t_start))
                  for v in grid}
        v = max(trials, key=trials.get)
        kept = trials[v] > best + 1e-9
        lines.append(f"{field} {v}: {trials[v]:.4f} vs {best:.4f} -> "
                     + ("kept" if kept else "not kept"))
        if kept:
            chosen, best = Temporal(**{**asdict(chosen), field: v}), trials[v]
    return chosen, lines


# --- thresholds ----------------------------------------------------------------------------

@dataclass
class Thresholds:
    threshold: float = 0.5
    nocall: float | None = None  # None: the plain threshold rule
    per_class: list[float] | None = None

    def decide(self, p: np.ndarray) -> np.ndarray:
        """0/1 per (row, class): the species a submission row names."""
        t = np.asarray(self.per_class) if self.per_class is not None else self.threshold
        pred = p >= t
        if self.nocall is not None:
            top = p.max(1) >= self.nocall
            pred[top, p[top].argmax(1)] = True
            pred &= top[:, None]
        return pred.astype(np.float32)


def f1_of(y: np.ndarray, p: np.ndarray, rule: Thresholds) -> float:
    return f1_rowwise(y, rule.decide(p), 0.5)


def _class_grid_f1(y: np.ndarray, p: np.ndarray, pred: np.ndarray, c: int, called: np.ndarray,
                   top: np.ndarray) -> np.ndarray:
    """Row-wise F1 for every GRID threshold of class `c`, the other columns held at `pred`."""
    truth = y > 0
    n_true = truth.sum(1)
    tp = (pred & truth).sum(1) - (pred[:, c] & truth[:, c])
    n_pred = pred.sum(1) - pred[:, c]
    col = called[:, None] & ((p[:, c, None] >= GRID[None]) | (top == c)[:, None])
    tp = tp[:, None] + (col & truth[:, c, None])
    n_pred = n_pred[:, None] + col
    tp = tp + ((n_pred == 0) & (n_true == 0)[:, None])
    return np.mean(2 * tp / (np.maximum(n_pred, 1) + np.maximum(n_true, 1)[:, None]), axis=0)


def per_class_thresholds(y: np.ndarray, p: np.ndarray, base: Thresholds,
                         min_positives: int = 2) -> Thresholds:
    """One coordinate pass: each class's threshold from GRID, the others fixed, where the class
    has `min_positives` OOF positives and the change raises the OOF F1."""
    t = np.full(y.shape[1], base.threshold)
    rule = Thresholds(base.threshold, base.nocall, t.tolist())
    called = p.max(1) >= base.nocall if base.nocall is not None else np.ones(len(p), bool)
    top = p.argmax(1) if base.nocall is not None else np.full(len(p), -1)
    pred = rule.decide(p) > 0
    current = f1_rowwise(y, pred, 0.5)
    for c in range(y.shape[1]):
        if (y[:, c] > 0).sum() < min_positives:
            continue
        f1 = _class_grid_f1(y, p, pred, c, called, top)
        if f1.max() > current + 1e-9:
            t[c], current = GRID[int(np.argmax(f1))], float(f1.max())
            pred[:, c] = called & ((p[:, c] >= t[c]) | (top == c))
    return Thresholds(base.threshold, base.nocall, t.tolist())


def f1_per_threshold(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Row-wise F1 at every GRID threshold in one pass: each score is binned by how many
    thresholds it reaches, so a row's predicted and true-positive counts at every threshold are
    reversed cumulative sums of its bin counts."""
    n, g = len(p), len(GRID) + 1
    bins = np.searchsorted(GRID, p, side="right") + g * np.arange(n)[:, None]
    truth = y > 0

    def reached(mask: np.ndarray) -> np.ndarray:  # (rows, thresholds): scores >= GRID[k]
        counts = np.bincount(bins[mask], minlength=n * g).reshape(n, g)
        return np.cumsum(counts[:, ::-1], axis=1)[:, ::-1][:, 1:]

    n_pred, tp = reached(np.ones_like(truth)), reached(truth)
    n_true = truth.sum(1)[:, None]
    tp = tp + ((n_pred == 0) & (n_true == 0))
    return np.mean(2 * tp / (np.maximum(n_pred, 1) + np.maximum(n_true, 1)), axis=0)


def best_threshold(y: np.ndarray, p: np.ndarray) -> float:
    """The GRID threshold with the best row-wise F1."""
    return float(GRID[int(np.argmax(f1_per_threshold(y, p)))])


def f1_best_threshold(y: np.ndarray, p: np.ndarray) -> float:
    """Row-wise F1 at the best global threshold: judges scores apart from their calibration
    (what blend weights and temporal steps are chosen on in F1-scored formats)."""
    return f1_rowwise(y, p, best_threshold(y, p))


def global_thresholds(y: np.ndarray, p: np.ndarray) -> Thresholds:
    """The best GRID threshold, then a nocall rule only if it raises the F1."""
    best = Thresholds(best_threshold(y, p))
    plain = f1_of(y, p, best)
    nocall = [f1_of(y, p, Thresholds(best.threshold, t)) for t in GRID]
    if max(nocall) > plain + 1e-9:
        best.nocall = float(GRID[int(np.argmax(nocall))])
    return best


def search_thresholds(y: np.ndarray, p: np.ndarray, folds: np.ndarray,
                      per_class: bool = True) -> tuple[Thresholds, list[str]]:
    """Global threshold and nocall rule on OOF; per-class thresholds on top, kept only if their
    nested CV beats the global rule's nested CV."""
    rule = global_thresholds(y, p)
    lines = [f"global threshold {rule.threshold} nocall {rule.nocall}: F1 {f1_of(y, p, rule):.4f}"]
    if not per_class:
        return rule, lines

    def apply(r: Thresholds, mask: np.ndarray) -> np.ndarray:
        return r.decide(p[mask])

    nested_global = cross_fit(lambda m: global_thresholds(y[m], p[m]), apply, folds, y.shape)
    nested_pc = cross_fit(lambda m: per_class_thresholds(y[m], p[m], global_thresholds(y[m], p[m])),
                          apply, folds, y.shape)
    gain = f1_rowwise(y, nested_pc, 0.5) - f1_rowwise(y, nested_global, 0.5)
    if gain > 0:
        rule = per_class_thresholds(y, p, rule)
    lines.append(f"per-class thresholds: nested CV {gain:+.4f} vs global -> "
                 + ("kept" if gain > 0 else "not kept") + f"; OOF F1 {f1_of(y, p, rule):.4f}")
    return rule, lines


def describe_folds(score: Score, y: np.ndarray, before: np.ndarray, after: np.ndarray,
                   folds: np.ndarray) -> str:
    """How many folds a postprocessing step raises: a gain on one fold only is noise."""
    delta = np.subtract(fold_scores(score, y, after, folds), fold_scores(score, y, before, folds))
    return f"raises {int((delta > 0).sum())}/{len(delta)} folds (mean {delta.mean():+.4f})"
