"""Blend experiments: score each OOF and their mean, then write the blended submission.

    python ensemble.py oof/*.npy [--out submissions/ensemble.csv]

Inputs must describe the same rows (ids, folds, targets) and classes of the same
competition; anything else is refused, since a blend of misaligned rows scores nonsense.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent / "src"))

from atomic import write_csv  # noqa: E402
from competitions import competition_for  # noqa: E402
from oof import Oof, load_test  # noqa: E402


def align(oofs: list[Oof]) -> list[Oof]:
    """Put every OOF in the first one's row order; refuse inputs that do not line up."""
    ref = oofs[0]
    index = {rid: i for i, rid in enumerate(ref.ids)}
    for o in oofs[1:]:
        name = f"{o.experiment} vs {ref.experiment}"
        if o.competition != ref.competition:
            raise SystemExit(f"{name}: competitions differ ({o.competition} != {ref.competition})")
        if o.classes != ref.classes:
            raise SystemExit(f"{name}: class lists differ")
        if sorted(o.ids) != sorted(ref.ids):
            extra, missing = set(o.ids) - set(index), set(ref.ids) - set(o.ids)
            raise SystemExit(f"{name}: OOF rows differ ({len(extra)} extra, {len(missing)} "
                             "missing); train the same folds on the same data")
        order = np.argsort([index[rid] for rid in o.ids])
        o.ids = [o.ids[i] for i in order]
        o.folds, o.targets, o.preds = o.folds[order], o.targets[order], o.preds[order]
        if not np.array_equal(o.folds, ref.folds):
            raise SystemExit(f"{name}: fold assignments differ; blend experiments sharing "
                             "n_folds and seed")
        if not np.array_equal(o.targets, ref.targets):
            raise SystemExit(f"{name}: targets differ for the same ids")
    return oofs


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("oofs", nargs="+", help="oof/<exp>.npy files")
    parser.add_argument("--out", default="submissions/ensemble.csv")
    args = parser.parse_args(argv)
    oofs = align([Oof.load(p) for p in args.oofs])
    ref = oofs[0]
    comp = competition_for(SimpleNamespace(**ref.config))

    blend = np.mean([o.preds for o in oofs], axis=0)
    fold_ids = sorted(set(ref.folds.tolist()))
    print(f"{'input':<24}{'cv_' + ref.metric:>12}  per fold")
    for name, preds in [(o.experiment, o.preds) for o in oofs] + [("blend (mean)", blend)]:
        per_fold = [comp.score(ref.targets[ref.folds == f], preds[ref.folds == f])
                    for f in fold_ids]
        print(f"{name:<24}{comp.score(ref.targets, preds):>12.4f}  "
              + " ".join(f"{s:.4f}" for s in per_fold))

    tests = [load_test(o.experiment) for o in oofs]
    row_ids, classes, _ = tests[0]
    for o, (ids, cls, _) in zip(oofs, tests):
        if ids != row_ids or cls != classes:
            raise SystemExit(f"test predictions of {o.experiment} have other rows or classes "
                             f"than {ref.experiment}'s: run infer.py again for both")
    sub = comp.make_submission(row_ids, np.mean([t[2] for t in tests], axis=0))
    out = Path(args.out)
    write_csv(out, sub)
    print(f"submission: {out} ({len(sub)} rows, {len(oofs)} experiments)")


if __name__ == "__main__":
    main()
