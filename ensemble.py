"""Blend experiments on their out-of-fold predictions and write the blended submission.

    python ensemble.py oof/*.npy [--method mean|weighted|rank|per-class] [--rows] [--out PATH]

Every choice is made on OOF predictions only: blend weights, then where they apply temporal
postprocessing (--rows) and the thresholds of label-list formats; the test predictions only
receive the same choices. The table gives each input's CV with its per-fold CVs and their spread,
and the blend's CV with its nested CV (each fold blended with weights chosen on the other folds):
a gain smaller than the fold spread, or lost in the nested CV, is noise.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import asdict
from pathlib import Path
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

from atomic import run_script, write_csv, write_json  # noqa: E402
from blend import METHODS, align, fit_blend, fold_scores  # noqa: E402
from competitions import checked_submission, competition_for, submission_score  # noqa: E402
from metrics import f1_rowwise  # noqa: E402
from oof import Oof, load_test  # noqa: E402
from postprocess import (Temporal, Thresholds, best_threshold, describe_folds,  # noqa: E402
                         f1_best_threshold, search_temporal, search_thresholds)

METHOD_HELP = """mean: equal weights. weighted (default): hill climbing on the OOF metric from the
best input, so the blend's OOF CV is at least the best input's. rank: the same on per-class ranks
of the scores (ranking metrics only). per-class: weights per class climbed on its average
precision, kept only if their nested CV beats the global weights'."""


def load_inputs(paths: list[str], rows: bool) -> list[Oof]:
    """Aligned OOFs; with `rows`, only the rows whose targets are time-resolved: a weak label
    (the recording's labels on every row) cannot judge row-level choices. An input given
    twice is refused: it would be weighed twice and its report entries overwritten."""
    seen: dict[Path, str] = {}
    for p in paths:
        if (key := Path(p).resolve()) in seen:
            raise SystemExit(f"{p}: given twice (as {seen[key]} and {p}); give each OOF once")
        seen[key] = p
    oofs = [Oof.load_rows(p) if rows else Oof.load(p) for p in paths]
    first: dict[str, str] = {}
    for p, o in zip(paths, oofs):
        if o.experiment in first:
            raise SystemExit(f"{p}: the OOF of {o.experiment} again (also {first[o.experiment]}); "
                             "give each experiment once")
        first[o.experiment] = p
    oofs = align(oofs)
    if not rows:
        return oofs
    strong = ~oofs[0].weak
    if not strong.any():
        raise SystemExit(f"{oofs[0].experiment}: every OOF row carries a weak label (the "
                         "recording's labels on every row), which cannot judge row-level "
                         "choices; drop --rows")
    if not strong.all():
        print(f"--rows: {int(strong.sum())} of {len(strong)} rows have time-resolved targets; "
              "the weak-label rows are left out")
    return [o.take(strong) for o in oofs]


class Table:
    """The CV table: each prediction's CV, its per-fold CVs and their spread. F1-scored formats
    are scored at each prediction's best global threshold on OOF, so blend weights are judged
    apart from calibration (thresholds are chosen after blending)."""

    def __init__(self, comp, y: np.ndarray, folds: np.ndarray) -> None:
        self.y, self.folds = y, folds
        self.objective = f1_best_threshold if comp.metric == "f1_rowwise" else comp.score
        self.f1 = comp.metric == "f1_rowwise"
        self.header = f"cv_{comp.metric}"
        self.width = max(len(self.header) + 2, 11)
        if self.f1:
            print("(F1 at each prediction's best global threshold on OOF)")
        print(f"{'':<26}{self.header:>{self.width}}{'nested':>9}   fold mean ± std   per fold")

    def evaluate(self, p: np.ndarray) -> tuple[float, list[float]]:
        t = best_threshold(self.y, p) if self.f1 else None
        score = (lambda y, q: f1_rowwise(y, q, t)) if self.f1 else self.objective
        return score(self.y, p), fold_scores(score, self.y, p, self.folds)

    def row(self, name: str, p: np.ndarray, nested: np.ndarray | None = None) -> dict:
        cv, per_fold = self.evaluate(p)
        nest = f"{self.objective(self.y, nested):>9.4f}" if nested is not None else " " * 9
        print(f"{name:<26}{cv:>{self.width}.4f}{nest}   {np.mean(per_fold):.4f} ± "
              f"{np.std(per_fold):.4f}   " + " ".join(f"{s:.4f}" for s in per_fold))
        return {"cv": cv, "folds": per_fold} | ({} if nested is None else
                                               {"nested_cv": self.objective(self.y, nested)})


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("oofs", nargs="+", help="oof/<exp>.npy files")
    parser.add_argument("--method", default="weighted", choices=METHODS, help=METHOD_HELP)
    parser.add_argument("--rows", action="store_true",
                        help="blend the 5-s row OOF (oof/<exp>.rows.npz) and search temporal "
                             "postprocessing on it; needs time-resolved (strong) labels")
    parser.add_argument("--out", default="submissions/ensemble.csv",
                        help="submission; the JSON report goes beside it")
    args = parser.parse_args(argv)
    oofs = load_inputs(args.oofs, args.rows)
    ref = oofs[0]
    comp = competition_for(SimpleNamespace(**ref.config))
    y, folds = ref.targets, ref.folds
    if args.method == "rank" and ref.metric == "f1_rowwise":
        raise SystemExit("--method rank: thresholds on ranks do not carry from OOF to test; "
                         "use weighted for F1-scored formats")

    print(f"{len(y)} OOF {'rows' if args.rows else 'recordings'}, {len(set(folds.tolist()))} folds")
    table = Table(comp, y, folds)
    report = {"inputs": args.oofs, "method": args.method, "level": "rows" if args.rows else
              "recordings", "metric": ref.metric, "cv": {}, "notes": []}
    for o in oofs:
        report["cv"][o.experiment] = table.row(o.experiment, o.preds)
    best = max(report["cv"], key=lambda e: report["cv"][e]["cv"])

    blend = fit_blend(args.method, [o.preds for o in oofs], y, folds, table.objective)
    report["blend"] = {"method": blend.method, **table.row(f"blend ({blend.method})", blend.oof,
                                                          blend.nested)}
    gain = np.subtract(report["blend"]["folds"], report["cv"][best]["folds"])
    print(f"blend - {best} (best input): {report['blend']['cv'] - report['cv'][best]['cv']:+.4f}"
          f", per fold {gain.mean():+.4f} ± {gain.std():.4f}, up on {int((gain > 0).sum())}/"
          f"{len(gain)} folds")
    report["weights"] = {o.experiment: (dict(zip(ref.classes, blend.weights[:, i].tolist()))
                                        if blend.weights.ndim == 2 else float(blend.weights[i]))
                         for i, o in enumerate(oofs)}
    print("weights: " + ", ".join(f"{o.experiment} {blend.weights[..., i].mean():.3f}"
                                  for i, o in enumerate(oofs))
          + (" (mean over classes)" if blend.weights.ndim == 2 else ""))
    if blend.note:
        print(blend.note)
        report["notes"].append(blend.note)

    post, rule = choose_postprocessing(ref, table, blend.oof, args.rows, report)
    out = Path(args.out)
    write_submission(comp, oofs, blend, post, rule, out)
    report["submission"] = str(out)
    solution = ref.config.get("solution_csv")
    if solution and Path(solution).exists():  # an evaluation, after every choice is made
        report[f"test_{ref.metric}"] = submission_score(comp, out, Path(solution))
        print(f"test_{ref.metric} of the blend: {report[f'test_{ref.metric}']:.4f} "
              f"(from {solution})")
    write_json(out.with_suffix(".json"), report)
    print(f"submission: {out}; report: {out.with_suffix('.json')}")


def choose_postprocessing(ref: Oof, table: Table, scores: np.ndarray, rows: bool,
                          report: dict) -> tuple[dict, Thresholds | None]:
    """Temporal steps (row OOF) and thresholds (F1 formats) chosen on the blended OOF."""
    y, folds, post, rule = ref.targets, ref.folds, {}, None
    if rows:
        temporal, lines = search_temporal(y, scores, ref.audio, ref.t_start, table.objective)
        after = temporal.apply(scores, ref.audio, ref.t_start)
        lines.append("temporal: " + describe_folds(table.objective, y, scores, after, folds))
        scores, post["temporal"] = after, asdict(temporal)
        report["notes"] += lines
        print("\n".join(lines))
    if table.f1:
        rule, lines = search_thresholds(y, scores, folds)
        scores, post["thresholds"] = rule.decide(scores), asdict(rule)
        report["notes"] += lines
        print("\n".join(lines))
    if post:
        report["postprocess"] = {**post, **table.row("blend + postprocessing", scores)}
    return post, rule


def write_submission(comp, oofs: list[Oof], blend, post: dict, rule, out: Path) -> None:
    """The test predictions of the same inputs, given the choices made on OOF."""
    tests = [load_test(o.experiment) for o in oofs]
    ref = tests[0]
    for o, t in zip(oofs, tests):
        if t.row_ids != ref.row_ids or t.classes != ref.classes or t.classes != oofs[0].classes:
            raise SystemExit(f"test predictions of {o.experiment} have other rows or classes "
                             f"than {oofs[0].experiment}'s: run infer.py again for both")
    scores = blend.apply([t.scores for t in tests])
    if "temporal" in post:
        scores = Temporal(**post["temporal"]).apply(scores, ref.audio, ref.t_start)
        if len(set(ref.audio)) == len(ref.audio):
            print("test rows are whole recordings: the temporal steps change nothing there")
    if rule is not None:
        scores, comp.threshold = rule.decide(scores), 0.5  # the rule decided; 0/1 scores remain
    sub = checked_submission(comp, ref.row_ids, scores, out, classes=ref.classes)
    write_csv(out, sub)
    print(f"{len(sub)} rows from {len(oofs)} experiments")


if __name__ == "__main__":
    run_script(main)
