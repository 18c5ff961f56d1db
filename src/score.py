"""Print an experiment's one-line summary: CV from its OOF, and the true test score of its
submission where the test labels are known (the demo's solution file).

    python src/score.py EXP   ->   exp001 cv_lwlrap=0.8123 test_lwlrap=0.7981 oof=... submission=...
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from competitions import competition_for
from configs import experiment_cli
from oof import OOF_DIR, Oof


def test_score(comp, submission: Path, solution: Path) -> float:
    """Score a written submission file against the true labels, rows matched by id."""
    row_ids, truth = comp.load_solution(solution)
    sub = pd.read_csv(submission, dtype=str)  # ids such as "1e5" must stay strings
    if "birds" in sub.columns:  # label-list formats: the predicted labels as 0/1 scores
        sub_ids, scores = comp.load_solution(submission)
        sub = pd.DataFrame(scores, index=sub_ids, columns=comp.classes)
    else:
        sub = sub.set_index(sub.columns[0])[comp.classes].astype(np.float64)
    missing = set(row_ids) - set(sub.index)
    if missing:
        raise SystemExit(f"{submission} lacks {len(missing)} row(s) of {solution}")
    return comp.score(truth, sub.loc[row_ids].to_numpy(np.float64))


def main(argv: list[str] | None = None) -> None:
    cfg, _ = experiment_cli(__doc__, argv)
    comp = competition_for(cfg)
    oof_path = OOF_DIR / f"{cfg.name}.npy"
    submission = Path("submissions") / f"{cfg.name}.csv"
    parts = [cfg.name]
    if not cfg.full_fit:  # a full fit has no validation fold, hence no CV
        oof = Oof.load(oof_path)
        parts.append(f"cv_{oof.metric}={oof.cv:.4f}")
    if cfg.solution_csv and Path(cfg.solution_csv).exists() and submission.exists():
        test = test_score(comp, submission, Path(cfg.solution_csv))
        parts.append(f"test_{comp.metric}={test:.4f}")
    parts += [f"oof={oof_path}"] * (not cfg.full_fit) + [f"submission={submission}"]
    print(" ".join(parts))


if __name__ == "__main__":
    main()
