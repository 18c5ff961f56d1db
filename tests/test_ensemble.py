"""ensemble.py end to end on synthetic OOF and test predictions: the blend it reports, the
submission it writes, and that nothing it chooses depends on the test labels."""
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from metrics import f1_rowwise
from oof import Oof, save_test

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import ensemble  # noqa: E402

CLASSES = ["s0", "s1", "s2", "s3"]


def noisy(y: np.ndarray, rng, strength: float = 2.5) -> np.ndarray:
    return 1 / (1 + np.exp(-(strength * (y - 0.5) + rng.normal(size=y.shape))))


@pytest.fixture
def rfcx_work(tmp_path, monkeypatch):
    """A minimal RFCX folder, two experiments' OOF (40 recordings, 4 folds) and test scores
    (12 recordings), and the test labels in a solution file."""
    rng = np.random.default_rng(0)
    data = tmp_path / "input" / "demo"
    for d in ("train", "test"):
        (data / d).mkdir(parents=True)
    (data / "train_tp.csv").write_text("recording_id,species_id,t_min,t_max\n")
    test_ids = [f"t{i}" for i in range(12)]
    pd.DataFrame({"recording_id": test_ids, **{c: 0.0 for c in CLASSES}}).to_csv(
        data / "sample_submission.csv", index=False)
    y_test = np.eye(4)[rng.integers(4, size=12)]
    pd.DataFrame({"recording_id": test_ids, **dict(zip(CLASSES, y_test.T.astype(int)))}).to_csv(
        tmp_path / "input" / "demo.solution.csv", index=False)
    config = {"competition": "rfcx", "data_dir": "input/demo", "test_dir": None,
              "threshold": 0.5, "false_positives": False,
              "solution_csv": "input/demo.solution.csv"}
    ids = [f"r{i}" for i in range(40)]
    y = np.eye(4, dtype=np.float32)[rng.integers(4, size=40)]
    monkeypatch.chdir(tmp_path)
    for name in ("expa", "expb"):
        Oof(name, "rfcx", config, "lwlrap", CLASSES, ids, np.arange(40) % 4, y,
            noisy(y, rng), 0.0, {}).save()
        save_test(name, test_ids, CLASSES, noisy(y_test, rng), test_ids, np.zeros(12))
    return tmp_path


def run(argv: list[str], capsys) -> tuple[str, dict]:
    ensemble.main(argv)
    out = capsys.readouterr().out
    return out, json.loads(Path(argv[argv.index("--out") + 1]).with_suffix(".json").read_text())


def test_blend_table_submission_and_report(rfcx_work, capsys):
    out, report = run(["oof/expa.npy", "oof/expb.npy", "--out", "submissions/b.csv"], capsys)
    assert "blend (weighted)" in out and "nested" in out and "± " in out
    best = max(report["cv"][e]["cv"] for e in ("expa", "expb"))
    assert report["blend"]["cv"] >= best
    w = np.array([report["weights"]["expa"], report["weights"]["expb"]])
    sub = pd.read_csv("submissions/b.csv", dtype={"recording_id": str})
    tests = [np.load(f"oof/{e}.test.npz")["scores"] for e in ("expa", "expb")]
    assert np.allclose(sub[CLASSES].to_numpy(), (w[0] * tests[0] + w[1] * tests[1]) / w.sum(),
                       atol=1e-6)
    assert 0 < report["test_lwlrap"] <= 1


def test_choices_never_look_at_test_labels(rfcx_work, capsys):
    """The solution file shuffled, then removed: same weights, same submission; only the
    printed test score (an evaluation, made after every choice) changes."""
    args = ["oof/expa.npy", "oof/expb.npy", "--method", "per-class", "--out", "submissions/x.csv"]
    _, first = run(args, capsys)
    sub = Path("submissions/x.csv").read_text()
    solution = rfcx_work / "input" / "demo.solution.csv"
    sol = pd.read_csv(solution, dtype={"recording_id": str})
    sol[CLASSES] = sol[CLASSES].to_numpy()[::-1]  # labels moved to other rows
    sol.to_csv(solution, index=False)
    _, shuffled = run(args, capsys)
    solution.unlink()
    _, removed = run(args, capsys)
    for report in (shuffled, removed):
        assert report["weights"] == first["weights"] and report["blend"] == first["blend"]
    assert Path("submissions/x.csv").read_text() == sub
    assert shuffled["test_lwlrap"] != first["test_lwlrap"] and "test_lwlrap" not in removed


def test_misaligned_inputs_are_refused(rfcx_work, capsys):
    meta = json.loads(Path("oof/expb.json").read_text())
    meta.update(experiment="expc", folds=[(f + 1) % 4 for f in meta["folds"]])
    Path("oof/expc.json").write_text(json.dumps(meta))
    np.save("oof/expc.npy", np.load("oof/expb.npy"))
    with pytest.raises(SystemExit, match="fold assignments differ for 40 rows"):
        ensemble.main(["oof/expa.npy", "oof/expc.npy", "--out", "submissions/c.csv"])

    z = dict(np.load("oof/expb.test.npz"))
    z["row_ids"] = z["row_ids"][::-1]
    np.savez("oof/expb.test.npz", **z)
    with pytest.raises(SystemExit, match="test predictions of expb have other rows"):
        ensemble.main(["oof/expa.npy", "oof/expb.npy", "--out", "submissions/c.csv"])


def test_rows_keep_only_time_resolved_targets(rfcx_work, capsys):
    """Row OOF: rows with weak targets are left out of row-level choices; all weak: refused."""
    n, rng = 40, np.random.default_rng(5)
    y = (rng.random((n, 4)) < 0.3)
    for name in ("expa", "expb"):
        np.savez(f"oof/{name}.rows.npz", ids=np.array([f"r{i // 2}_{5 + 5 * (i % 2)}"
                                                         for i in range(n)]),
                 audio=np.array([f"r{i // 2}" for i in range(n)]), t_start=np.arange(n) % 2 * 5.0,
                 folds=np.arange(n) // 2 % 4, preds=noisy(y, rng), targets=y,
                 weak=np.arange(n) < 10)
    out, report = run(["oof/expa.npy", "oof/expb.npy", "--rows", "--out", "submissions/r.csv"],
                      capsys)
    assert "30 of 40 rows have time-resolved targets" in out and "30 OOF rows" in out
    assert report["level"] == "rows" and "temporal" in report["postprocess"]
    z = dict(np.load("oof/expa.rows.npz"))
    np.savez("oof/expa.rows.npz", **{**z, "weak": np.ones(n, bool)})
    with pytest.raises(SystemExit, match="every OOF row carries a weak label"):
        ensemble.main(["oof/expa.npy", "--rows", "--out", "submissions/r.csv"])


def test_f1_format_gets_thresholds_chosen_on_oof(tmp_path, monkeypatch, capsys):
    """Cornell 2020: under-confident scores (calls near 0.3) miss every call at the default
    0.5; the threshold searched on OOF names them in the submission, nocall elsewhere."""
    rng = np.random.default_rng(1)
    data = tmp_path / "input" / "cornell"
    (data / "train_audio").mkdir(parents=True)
    classes = ["amecro", "bkcchi", "norcar"]
    pd.DataFrame({"ebird_code": classes, "filename": ["XC1.mp3", "XC2.mp3", "XC3.mp3"],
                  "secondary_labels": "[]"}).to_csv(data / "train.csv", index=False)
    pd.DataFrame({"site": "site_1", "row_id": [f"site_1_a_{5 * k}" for k in range(1, 5)],
                  "seconds": [5, 10, 15, 20], "audio_id": "a"}).to_csv(data / "test.csv",
                                                                        index=False)
    config = {"competition": "cornell2020", "data_dir": "input/cornell", "test_dir": None,
              "threshold": 0.5, "false_positives": False, "solution_csv": None}
    n = 200
    y = np.zeros((n, 3), dtype=np.float32)
    calls = np.flatnonzero(rng.random(n) < 0.5)
    y[calls, rng.integers(3, size=len(calls))] = 1
    monkeypatch.chdir(tmp_path)
    for name in ("f1a", "f1b"):
        p = np.clip(0.05 + 0.25 * y + 0.08 * rng.normal(size=y.shape), 0, 1)
        Oof(name, "cornell2020", config, "f1_rowwise", classes, [f"r{i}" for i in range(n)],
            np.arange(n) % 4, y, p, 0.0, {}).save()
        test = np.array([[0.3, 0.02, 0.04], [0.05, 0.04, 0.03], [0.02, 0.31, 0.6],
                         [0.06, 0.02, 0.02]])
        save_test(name, [f"site_1_a_{5 * k}" for k in range(1, 5)], classes, test, ["a"] * 4,
                  np.arange(4) * 5.0)
    out, report = run(["oof/f1a.npy", "oof/f1b.npy", "--out", "submissions/f.csv"], capsys)
    rule = report["postprocess"]["thresholds"]
    assert rule["threshold"] < 0.3 and report["postprocess"]["cv"] >= report["blend"]["cv"]
    assert report["postprocess"]["cv"] > f1_rowwise(y, np.load("oof/f1a.npy"), 0.5) + 0.3
    birds = pd.read_csv("submissions/f.csv")["birds"].tolist()
    assert birds == ["amecro", "nocall", "bkcchi norcar", "nocall"]


def test_non_finite_inputs_are_refused_naming_the_experiment(rfcx_work, capsys):
    """One NaN used to change an input's CV and the blend's, even at weight 0."""
    preds = np.load("oof/expb.npy")
    preds[7, 2] = np.nan
    np.save("oof/expb.npy", preds)
    with pytest.raises(SystemExit, match=r"^oof/expb.npy: 1 of 160 OOF predictions of expb are "
                                         r"NaN or inf; no metric is computed over them"):
        ensemble.main(["oof/expa.npy", "oof/expb.npy", "--out", "submissions/n.csv"])
    z = dict(np.load("oof/expa.test.npz"))
    z["scores"][0, 0] = np.inf
    np.savez("oof/expa.test.npz", **z)
    with pytest.raises(SystemExit, match=r"^oof/expa.test.npz: 1 of 48 test scores of expa are "
                                         r"NaN or inf; run `python src/infer.py expa` again$"):
        ensemble.main(["oof/expa.npy", "--out", "submissions/n.csv"])
    assert not Path("submissions/n.csv").exists()


@pytest.mark.parametrize("damage", ["truncated", "random bytes"])
def test_an_unreadable_npy_ends_with_one_line_naming_it(rfcx_work, damage):
    path = Path("oof/expb.npy")
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2] if damage == "truncated"
                     else np.random.default_rng(3).bytes(len(data)))
    with pytest.raises(SystemExit) as stop:
        ensemble.main(["oof/expa.npy", "oof/expb.npy", "--out", "submissions/u.csv"])
    message = str(stop.value.code)
    assert message.startswith("oof/expb.npy: not a readable .npy array (") and "\n" not in message


def test_the_same_oof_given_twice_is_refused(rfcx_work):
    with pytest.raises(SystemExit, match=r"^oof/expa.npy: given twice \(as oof/expa.npy and "
                                         r"oof/expa.npy\)"):
        ensemble.main(["oof/expa.npy", "oof/expb.npy", "oof/expa.npy", "--out", "s/t.csv"])
    Path("copy").mkdir()
    for suffix in (".npy", ".json"):
        Path(f"copy/expa{suffix}").write_bytes(Path(f"oof/expa{suffix}").read_bytes())
    with pytest.raises(SystemExit, match=r"^copy/expa.npy: the OOF of expa again \(also "
                                         r"oof/expa.npy\); give each experiment once$"):
        ensemble.main(["oof/expa.npy", "copy/expa.npy", "--out", "s/t.csv"])
