"""sweep.py's results CSV: the row a run appends, the columns widening with more folds, where
the rows go, and the markdown `render` makes of a CSV (no training here)."""
from __future__ import annotations

import ast
import csv
import re
from pathlib import Path

import pytest

import sweep
from configs import EXPERIMENTS, ConfigError, load_config

ROOT = Path(__file__).resolve().parents[1]


def test_a_run_row_has_every_column():
    cfg = load_config("bird081")
    run = {"folds": 2, "cpu_min_per_fold": 16.0, "wall_min_per_fold": 8.4,
           "top1": [0.254, 0.271], "lwlrap": [0.381, 0.397], "window_auc": [0.851, 0.848]}
    context = sweep.run_context(["cv", "bird081", "--seeds", "3"])
    row = sweep.run_row(cfg, run, 43, context)
    assert row["experiment"] == "bird081" and row["view"] == "cv" and row["seed"] == 43
    assert row["change"].startswith("bird080 at 25 epochs instead of 30")  # its docstring's
    assert row["change"].endswith("(2026-12-03).")  # first sentence, whole
    assert row["recipe"] == "bird075"
    assert row["top1_fold0"] == 0.254 and row["top1_fold1"] == 0.271
    assert row["top1_mean"] == pytest.approx(0.2625)
    assert row["window_auc_mean"] == pytest.approx(0.8495)
    assert (row["cpu_min_per_fold"], row["wall_min_per_fold"]) == (16.0, 8.4)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d[+-]\d\d:\d\d", row["date"])
    assert row["machine"].endswith("cores") or "cores," in row["machine"]
    assert re.fullmatch(r"[0-9a-f]{7,}(\+dirty)?|unknown", row["commit"])
    assert row["command"] == "python src/sweep.py cv bird081 --seeds 3"
    assert row["source"] == "sweep.py"
    assert set(row) <= set(sweep.columns(row))


def test_append_widens_the_columns_and_keeps_earlier_rows(tmp_path):
    path = tmp_path / "results.csv"
    two = {"experiment": "a", "seed": 42, "folds": 2, "top1_mean": 0.5, "top1_fold0": 0.25,
           "top1_fold1": 0.75, "cpu_min_per_fold": 3.0, "note": "x, y"}
    sweep.append_rows(path, [two])
    three = {"experiment": "b", "seed": 42, "folds": 3, "top1_mean": 0.4, "top1_fold0": 0.1,
             "top1_fold1": 0.2, "top1_fold2": 0.9, "lwlrap_fold0": float("nan")}
    sweep.append_rows(path, [three])
    with open(path, newline="") as f:
        header = next(csv.reader(f))
    assert header[:6] == list(sweep.HEAD)
    assert header[6:11] == ["top1_mean", "top1_fold0", "top1_fold1", "top1_fold2",
                            "lwlrap_mean"]
    assert header[-len(sweep.TAIL):] == list(sweep.TAIL)
    a, b = sweep.read_rows(path)
    assert (a["experiment"], a["top1_fold1"], a["top1_fold2"], a["note"]) == ("a", "0.75", "",
                                                                              "x, y")
    assert (b["top1_fold2"], b["lwlrap_fold0"], b["cpu_min_per_fold"]) == ("0.9", "", "")


def test_rows_go_to_the_results_csv_of_the_experiments_folder():
    birdsong = EXPERIMENTS / "birdsong" / "results.csv"
    assert sweep.results_csv("bird080") == birdsong
    assert sweep.results_csv("experiments/birdsong/bird080.py") == birdsong
    assert sweep.results_csv(str(EXPERIMENTS / "birdsong/recipes/bird075.py")) == birdsong
    assert sweep.results_csv("exp001") == EXPERIMENTS / "results.csv"


def test_changed_configs_pass_the_checks():
    cfg = load_config("bird080", {"seed": 43})
    wcfg = sweep.with_fields(cfg, infer_duration=5.0, infer_hop=None)
    assert type(wcfg) is type(cfg) and wcfg.name == "bird080" and wcfg.seed == 43
    assert (wcfg.infer_duration, wcfg.infer_hop, cfg.infer_hop) == (5.0, None, 1.5)
    with pytest.raises(ConfigError, match="keep"):
        sweep.with_fields(cfg, keep="worst")


SMALL_CSV = """\
experiment,view,change,recipe,seed,folds,top1_mean,top1_fold0,top1_fold1,lwlrap_mean,lwlrap_fold0,lwlrap_fold1,window_auc_mean,window_auc_fold0,window_auc_fold1,cpu_min_per_fold,wall_min_per_fold,date,machine,commit,command,source,note
bird081,cv,25 epochs,bird075,42,2,0.2625,0.254,0.271,0.389,0.381,0.397,0.8495,0.851,0.848,16,8.4,2026-12-03T10:00+00:00,box,abc1234,python src/sweep.py cv bird081 --seeds 2,sweep.py,
bird081,cv,25 epochs,bird075,43,2,0.305,0.339,0.271,0.401,0.438,0.364,0.859,0.869,0.849,16.6,8.8,2026-12-03T11:00+00:00,box,abc1234,python src/sweep.py cv bird081 --seeds 2,sweep.py,
bird036,cv,CNN6 | trunk,bird009,42,1,0.102,0.102,,0.209,0.209,,0.675,0.675,,,,2026-11-22,old cpu,unknown,python src/bench.py cv bird036,README,fold 1 not run
bird069,aggregate,"windows 5 s, rows max, recording max, smoothing 0, prior 0",bird069,42,2,0.237,0.254,0.22,0.374,0.397,0.351,0.79,0.793,0.788,,,2026-12-02,old cpu,unknown,python src/bench.py aggregate bird069,README,
"""

EXPECTED = """\
## Training runs, by the recipe they build on

### Recipe bird009

| experiment | change | seed | top-1 | LWLRAP | window AUC | CPU-min | date | machine | commit | note |
|---|---|---|---|---|---|---|---|---|---|---|
| `bird036` | CNN6 \\| trunk | 42 | 0.102 (0.102 –) | 0.209 (0.209 –) | 0.675 (0.675 –) | – | 2026-11-22 | m2 | unknown | fold 1 not run |

### Recipe bird075

| experiment | change | seed | top-1 | LWLRAP | window AUC | CPU-min | date | machine | commit | note |
|---|---|---|---|---|---|---|---|---|---|---|
| `bird081` | 25 epochs | 42 | 0.263 (0.254 0.271) | 0.389 (0.381 0.397) | 0.850 (0.851 0.848) | 16.0 (8.4 wall) | 2026-12-03 | m1 | abc1234 |  |
| `bird081` | 25 epochs | 43 | 0.305 (0.339 0.271) | 0.401 (0.438 0.364) | 0.859 (0.869 0.849) | 16.6 (8.8 wall) | 2026-12-03 | m1 | abc1234 |  |
| `bird081` | mean ± sd of 2 runs above | 42, 43 | 0.284 ± 0.030 | 0.395 ± 0.008 | 0.854 ± 0.007 | 16.3 |  | m1 | abc1234 |  |

## Test-time choices (`aggregate`), on each experiment's trained folds

### bird069

| experiment | change | seed | top-1 | LWLRAP | window AUC | date | machine | commit | note |
|---|---|---|---|---|---|---|---|---|---|
| `bird069` | windows 5 s, rows max, recording max, smoothing 0, prior 0 | 42 | 0.237 (0.254 0.220) | 0.374 (0.397 0.351) | 0.790 (0.793 0.788) | 2026-12-02 | m2 | unknown |  |
"""


def test_render_turns_a_csv_into_the_expected_markdown(tmp_path):
    path = tmp_path / "results.csv"
    path.write_text(SMALL_CSV)
    text = sweep.render(sweep.read_rows(path), "experiments/demo/results.csv", "Demo results")
    header, _, tables = text.partition("\n## ")
    assert header.splitlines()[0].startswith(
        "_Generated from `experiments/demo/results.csv` by `python src/sweep.py render "
        "experiments/demo/results.csv`: do not edit this file")
    assert "# Demo results" in header.splitlines()
    assert "- m1: box" in header and "- m2: old cpu" in header
    assert "- sweep.py: 2 rows" in header and "- README: 2 rows" in header
    assert "## " + tables == EXPECTED


def test_render_writes_the_docs_page(tmp_path):
    path = tmp_path / "demo" / "results.csv"
    path.parent.mkdir()
    path.write_text(SMALL_CSV)
    out = sweep.render_file(path, tmp_path / "demo-results.md")
    assert out.read_text().startswith("_Generated from ")


def test_the_shipped_results_render_to_the_shipped_page():
    """docs/birdsong-results.md is generated: editing the CSV without rendering fails here."""
    csv_path = EXPERIMENTS / "birdsong" / "results.csv"
    text = sweep.render(sweep.read_rows(csv_path), "experiments/birdsong/results.csv",
                        "Birdsong results")
    assert (ROOT / "docs" / "birdsong-results.md").read_text() == text
    rows = sweep.read_rows(csv_path)
    known = {p.stem for p in (EXPERIMENTS / "birdsong").glob("*.py")}
    assert {r["experiment"] for r in rows} <= known


def test_sweeps_left_bench_py():
    """Experiment sweeps are sweep.py's, speed benchmarks bench.py's (test_structure.py checks
    that neither imports the other)."""
    def functions(name: str) -> set[str]:
        tree = ast.parse((ROOT / "src" / name).read_text())
        return {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}

    assert not functions("bench.py") & {"bench_cv", "bench_aggregate", "cv_run", "spread"}
    assert {"cv_run", "sweep_cv", "aggregate", "render", "append_rows"} <= functions("sweep.py")


def test_first_seed_adds_seeds_after_those_already_run(tmp_path, monkeypatch):
    """`sweep.py cv EXP --seeds 2 --first-seed 1`: seeds 43 and 44 on the same folds (the
    trainings and prepare.py stubbed out: this checks the seeds asked for and the rows)."""
    asked = []
    real = sweep.subprocess.run
    monkeypatch.setattr(sweep.subprocess, "run", lambda args, **k: None if str(args[1]).endswith(
        "prepare.py") else real(args, **k))  # git and nvidia-smi still answer
    monkeypatch.setattr(sweep, "cv_run", lambda spec, name, overrides, src: asked.append(
        overrides[-2:]) or {"folds": 2, "cpu_min_per_fold": 1.0, "wall_min_per_fold": 1.0,
                            "top1": [0.3, 0.4]})
    out = tmp_path / "results.csv"
    sweep.main(["cv", "bird081", "--seeds", "2", "--first-seed", "1", "--results", str(out)])
    assert [o[0] for o in asked] == ["seed=43", "seed=44"]
    assert all(o[1].startswith("fold_seed=") for o in asked)
    with open(out, newline="") as f:
        assert [row["seed"] for row in csv.DictReader(f)] == ["43", "44"]
