"""Print an experiment's one-line summary: CV from its OOF, and the true test score of its
submission where the test labels are known (the demo's solution file).

    python src/score.py EXP   ->   EXP cv_<metric>=... [test_<metric>=...] oof=... submission=...
"""
from __future__ import annotations

from pathlib import Path

from atomic import run_script
from competitions import competition_for, submission_score
from configs import experiment_cli
from oof import OOF_DIR, Oof


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
        test = submission_score(comp, submission, Path(cfg.solution_csv))
        parts.append(f"test_{comp.metric}={test:.4f}")
    parts += [f"oof={oof_path}"] * (not cfg.full_fit) + [f"submission={submission}"]
    print(" ".join(parts))


if __name__ == "__main__":
    run_script(main)
