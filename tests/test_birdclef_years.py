"""Every BirdCLEF year as it is scored (issue 27): the metrics against independent
computations, each year's files, a tiny demo of each year trained, inferred and scored end to
end under the year's name, and self-training on the unlabeled soundscapes."""
import json
import re
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import accuracy_score, balanced_accuracy_score, roc_auc_score

import infer
import metrics
import prepare
import score
import train
from audio import save_cached
from backends import load_fold_models
from competitions import COMPETITIONS, get_competition, submission_score
from configs import ConfigError, load_config
from configs.base import unlabeled_folder
from datasets import SedDataset
from losses import Distill, PANNsLoss
from make_demo import LAYOUTS
from pseudo import predict_labels

TINY = dict(n_species=4, n_train=8, n_test=1, duration=4.0, sr=16000)  # one 12-s soundscape


def _reference(y: np.ndarray, s: np.ndarray) -> float:
    """scikit-learn's AUC class by class over the classes with a positive and a negative."""
    cols = [c for c in range(y.shape[1]) if 0 < y[:, c].sum() < len(y)]
    return float(np.mean([roc_auc_score(y[:, c], s[:, c]) for c in cols]))


def test_macro_auc_matches_sklearn_with_ties_and_empty_classes():
    rng = np.random.default_rng(0)
    for _ in range(20):
        y = (rng.random((40, 6)) < 0.3).astype(int)
        y[:, 2] = 0  # no positive: skipped, as Kaggle skips it
        s = np.round(rng.random((40, 6)), 1)  # one decimal: many ties
        got = metrics.macro_auc(y, s)
        assert got == pytest.approx(_reference(y, s), abs=1e-12)
        scored = y.sum(0) > 0  # Kaggle's formula, whole-matrix macro over the scored columns
        assert got == pytest.approx(roc_auc_score(y[:, scored], s[:, scored], average="macro"))
    assert metrics.METRICS["macro_auc"] is metrics.macro_auc
    assert np.isnan(metrics.macro_auc(np.zeros((3, 2)), np.ones((3, 2))))


def test_class_positive_in_every_row_is_skipped_where_kaggle_gives_no_score():
    y = np.array([[1, 1, 0], [1, 0, 1], [1, 1, 0], [1, 0, 0]])
    s = np.array([[.9, .8, .1], [.2, .3, .7], [.5, .8, .2], [.4, .1, .3]])
    assert metrics.macro_auc(y, s) == pytest.approx(_reference(y, s))  # mean of classes 1, 2
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:  # scikit-learn < 1.6 raises; later versions warn and give NaN
            kaggle = roc_auc_score(y, s, average="macro")
        except ValueError:
            kaggle = float("nan")
    assert np.isnan(kaggle)


METRIC = {2021: "f1_rowwise", 2022: "weighted_accuracy", 2023: "padded_cmap",
          2024: "macro_auc", 2025: "macro_auc"}


def test_registry_names_the_years_metric():
    assert COMPETITIONS["birdclef"] is COMPETITIONS["birdclef2023"]  # the old name, an alias
    for year, metric in METRIC.items():
        assert COMPETITIONS[f"birdclef{year}"].metric == metric


def _weighted_accuracy_by_weights(y: np.ndarray, s: np.ndarray, t: float) -> float:
    """Kaggle's description taken literally: one weighted accuracy over every scored cell,
    each species' cells weighing 1 in all, half on its positives and half on its negatives
    (all of it on the side it has, when it has one side)."""
    truth, pred, weight = [], [], []
    for c in range(y.shape[1]):
        scored = y[:, c] >= 0
        pos, neg = scored & (y[:, c] == 1), scored & (y[:, c] == 0)
        sides = [m for m in (pos, neg) if m.any()]
        for m in sides:
            truth += list(y[m, c])
            pred += list(s[m, c] >= t)
            weight += [1.0 / len(sides) / m.sum()] * int(m.sum())
    return accuracy_score(np.array(truth, bool), np.array(pred), sample_weight=weight)


def test_weighted_accuracy_matches_independent_computations():
    rng = np.random.default_rng(3)
    for _ in range(20):
        y = (rng.random((30, 5)) < 0.3).astype(float)
        y[:, 1] = 0  # no positive: scored on its negatives alone
        y[:, 2] = 1  # positive in every row: on its positives alone
        y[rng.random((30, 5)) < 0.2] = -1  # cells the solution does not score
        s = np.round(rng.random((30, 5)), 1)  # ties with the threshold itself
        got = metrics.weighted_accuracy(y, s, 0.5)
        assert got == pytest.approx(_weighted_accuracy_by_weights(y, s, 0.5), abs=1e-12)
        both = [c for c in range(5) if {0, 1} <= set(y[y[:, c] >= 0, c])]
        per_species = [balanced_accuracy_score(y[y[:, c] >= 0, c], s[y[:, c] >= 0, c] >= 0.5)
                       for c in both]
        one_sided = [np.mean((s[y[:, c] >= 0, c] >= 0.5) == (y[y[:, c] >= 0, c] == 1))
                     for c in range(5) if c not in both]
        assert got == pytest.approx(np.mean(per_species + one_sided), abs=1e-12)
    assert metrics.weighted_accuracy(np.array([[1.0, 0.0]]), np.array([[0.5, 0.49]])) == 1.0
    assert np.isnan(metrics.weighted_accuracy(-np.ones((2, 2)), np.zeros((2, 2))))


def test_2021_labelled_train_soundscapes(tmp_path):
    out = LAYOUTS["birdclef2021"](tmp_path / "d21", seed=3, **TINY)
    comp = get_competition("birdclef2021", str(out))
    labels = pd.read_csv(out / "train_soundscape_labels.csv", dtype=str)
    assert list(labels.columns) == ["row_id", "site", "audio_id", "seconds", "birds"]
    rows, truth = comp.labelled_soundscapes()
    assert rows["row_id"].tolist() == labels["row_id"].tolist()
    assert set(rows["path"]) == {str(p) for p in (out / "train_soundscapes").glob("*.ogg")}
    assert (rows["t_end"] - rows["t_start"] == 5).all()
    named = [" ".join(c for c, hit in zip(comp.classes, row) if hit) or "nocall" for row in truth]
    assert named == [" ".join(sorted(b.split())) for b in labels["birds"]]
    assert get_competition("birdclef2023", str(LAYOUTS["birdclef2023"](
        tmp_path / "d23", seed=3, **TINY))).labelled_soundscapes() is None


def test_2022_rows_submission_and_score(tmp_path):
    out = LAYOUTS["birdclef2022"](tmp_path / "d22", seed=2, **TINY)
    comp = get_competition("birdclef2022", str(out), threshold=0.5)
    test = pd.read_csv(out / "test.csv", dtype=str)
    assert comp.classes == sorted(pd.read_csv(out / "train_metadata.csv")["primary_label"]
                                  .unique())
    assert [comp.classes[k] for k in comp.scored] == sorted(set(test["bird"]))
    rows = comp.test_rows()  # one row per window, every class scored there
    assert rows["row_id"].tolist() == list(dict.fromkeys(test["file_id"] + "_" + test["end_time"]))
    scores = np.random.default_rng(0).random((len(rows), len(comp.classes)))
    sub = comp.make_submission(rows["row_id"].tolist(), scores)
    assert sub["row_id"].tolist() == test["row_id"].tolist()
    k = 4  # the 5th test row: its bird's score in its window decides it
    window = rows["row_id"].tolist().index(f"{test['file_id'][k]}_{test['end_time'][k]}")
    assert sub["target"][k] == (scores[window, comp.classes.index(test["bird"][k])] >= 0.5)
    sub.to_csv(tmp_path / "sub.csv", index=False)
    solution = out.with_name("d22.solution.csv")
    windows, y = comp.load_solution(solution)
    truth = pd.read_csv(solution)["target"].to_numpy()
    assert (y >= 0).sum() == len(test) and y[y >= 0].sum() == truth.sum()
    expected = _weighted_accuracy_by_weights(
        y, scores[[rows["row_id"].tolist().index(w) for w in windows]], 0.5)
    assert submission_score(comp, tmp_path / "sub.csv", solution) == pytest.approx(expected)
    assert submission_score(comp, solution, solution) == 1.0
    (out / "scored_birds.json").write_text('["nosuch"]')
    with pytest.raises(SystemExit, match="nosuch"):
        get_competition("birdclef2022", str(out))


@pytest.fixture(scope="module")
def demo2025(tmp_path_factory):
    return LAYOUTS["birdclef2025"](tmp_path_factory.mktemp("b25") / "input" / "demo", seed=4,
                                   **TINY)


def test_2025_layout_and_competition(demo2025):
    train_csv = pd.read_csv(demo2025 / "train.csv", dtype=str)
    assert list(train_csv.columns) == [
        "primary_label", "secondary_labels", "type", "filename", "collection", "rating", "url",
        "latitude", "longitude", "scientific_name", "common_name", "author", "license"]
    assert set(train_csv["collection"]) <= {"XC", "iNat", "CSA"}
    tax = pd.read_csv(demo2025 / "taxonomy.csv", dtype=str)
    assert list(tax.columns) == ["primary_label", "inat_taxon_id", "scientific_name",
                                 "common_name", "class_name"]
    assert "Aves" in set(tax["class_name"]) and len(set(tax["class_name"])) > 1
    assert any(label.isdigit() for label in tax["primary_label"])  # an iNaturalist id
    assert not (demo2025 / "train_metadata.csv").exists()
    assert len(list((demo2025 / "train_soundscapes").glob("*.ogg"))) == 2 * TINY["n_test"]
    sample = pd.read_csv(demo2025 / "sample_submission.csv", dtype=str)
    comp = get_competition("birdclef2025", str(demo2025))
    assert comp.classes == list(sample.columns[1:]) == sorted(tax["primary_label"])
    assert comp.test_rows()["row_id"].tolist() == sample["row_id"].tolist()
    assert set(comp.species_names()) == set(tax["primary_label"])
    recs = comp.train_recordings()
    assert len(recs) == len(train_csv) and all(map(lambda p: p.endswith(".ogg"), recs["path"]))
    ids, y = comp.load_solution(demo2025.with_name("demo.solution.csv"))
    assert ids == sample["row_id"].tolist() and y.shape == (len(ids), len(comp.classes))


def test_2025_classes_from_taxonomy_without_sample(demo2025, tmp_path):
    import shutil
    copy = tmp_path / "c"
    shutil.copytree(demo2025, copy)
    (copy / "sample_submission.csv").unlink()
    tax = pd.read_csv(copy / "taxonomy.csv", dtype=str)
    assert get_competition("birdclef2025", str(copy)).classes == sorted(tax["primary_label"])
    (copy / "taxonomy.csv").unlink()
    with pytest.raises(SystemExit, match="taxonomy.csv"):
        get_competition("birdclef2025", str(copy))


def test_2024_layout(tmp_path):
    out = LAYOUTS["birdclef2024"](tmp_path / "d24", seed=1, n_species=3, n_train=3, n_test=1,
                                  duration=2.0, sr=16000)
    assert (out / "train_metadata.csv").exists() and (out / "eBird_Taxonomy_v2021.csv").exists()
    assert len(list((out / "unlabeled_soundscapes").glob("*.ogg"))) == 2
    comp = get_competition("birdclef2024", str(out))
    sample = pd.read_csv(out / "sample_submission.csv", dtype=str)
    assert comp.classes == list(sample.columns[1:])
    assert comp.test_rows()["row_id"].tolist() == sample["row_id"].tolist()


def _run(config: str, capsys) -> str:
    """prepare -> train -> infer -> score, as run.sh runs them; the last line printed."""
    for step in (prepare, train, infer):
        step.main([config])
    capsys.readouterr()
    score.main([config])
    return capsys.readouterr().out.strip().splitlines()[-1]


TINY_MODEL = dict(sample_rate=8000, duration=2.0, n_folds=2, epochs=1, batch_size=4, n_fft=256,
                  hop_length=160, mel_bins=16, backbone="resnet10t", head_hidden=16,
                  num_workers=0)


@pytest.mark.parametrize("year", sorted(METRIC))
def test_each_year_trains_infers_and_scores_under_its_name(year, tmp_path, monkeypatch, capsys,
                                                           write_config):
    """A tiny demo of the year, its template's competition, the official metric's key."""
    demo = LAYOUTS[f"birdclef{year}"](tmp_path / "input" / "demo", seed=year, **TINY)
    config = write_config(tmp_path / f"y{year}.py", parent=f"configs.birdclef{year}",
                          data_dir="input/demo", solution_csv="input/demo.solution.csv",
                          **TINY_MODEL)
    monkeypatch.chdir(tmp_path)
    line = _run(config, capsys)
    m = re.search(rf"cv_{METRIC[year]}=(\S+) test_{METRIC[year]}=(\S+) ", line)
    assert m, line
    assert 0 <= float(m[1]) <= 1 and 0 <= float(m[2]) <= 1
    for fold in (0, 1):  # both views of validation: focal recordings and soundscapes
        scores = json.loads((tmp_path / "models" / f"y{year}" / f"scores_fold{fold}.json")
                            .read_text())
        assert {"top1", "lwlrap", "scape_auc", "scape_lwlrap", "scape_cmap"} <= set(scores)
    cache = tmp_path / "input" / "cache" / "demo-8000"
    # 2021 ships labelled train_soundscapes: the soundscape view scores them, mixing none
    assert (cache / "soundscape").is_dir() == (year == 2021)
    assert (cache / "soundscapes").is_dir() == (year != 2021)
    sub = pd.read_csv(tmp_path / "submissions" / f"y{year}.csv", dtype=str)
    sample = pd.read_csv(demo / "sample_submission.csv", dtype=str)
    assert list(sub.columns) == list(sample.columns)
    assert sub["row_id"].tolist() == sample["row_id"].tolist()


def test_self_training_labels_each_fold_by_its_own_teacher_fold(demo2025, monkeypatch, capsys,
                                                                write_config):
    """Train, pseudo-label the unlabeled soundscapes, retrain on them: fold k of the student
    learns from fold k of the teacher only (never from a model that trained on fold k's
    validation recordings), and the labels are the teacher fold's own predictions."""
    work = demo2025.parent.parent
    fields = dict(competition="birdclef2025", data_dir="input/demo",
                  solution_csv="input/demo.solution.csv", **TINY_MODEL)
    teacher_cfg = write_config(work / "st_teacher.py", **fields)
    student_cfg = write_config(work / "st_student.py", **fields, distill_audio="soundscapes",
                               pseudo_labels="st_teacher", distill_weight=1.0)
    monkeypatch.chdir(work)
    _run(teacher_cfg, capsys)
    line = _run(student_cfg, capsys)
    assert re.search(r"cv_macro_auc=\S+ test_macro_auc=\S+ ", line), line
    tcfg = load_config("models/st_teacher/config.json")
    comp = get_competition("birdclef2025", "input/demo")
    cached = sorted((work / "input" / "cache" / "demo-8000" / "unlabeled").glob("*.npy"))
    assert len(cached) == 2 * TINY["n_test"]  # every unlabeled soundscape, cached by prepare
    audio = pd.DataFrame({"id": [p.stem for p in cached], "cache_path": list(map(str, cached))})
    labels, cpu = [], torch.device("cpu")
    for fold in (0, 1):
        with np.load(work / "models" / "st_teacher" / f"pseudo_fold{fold}.npz") as z:
            ids, starts, preds = z["audio"].astype(str), z["t_start"], z["preds"]
        assert set(ids) == set(audio["id"]) and len(ids) == len(starts) == len(preds)
        own = predict_labels(tcfg, comp, audio, fold, cpu)  # fold k's checkpoint alone
        order = np.lexsort((starts, ids)), np.lexsort((own[1], own[0]))
        assert np.allclose(preds[order[0]], own[2][order[1]], atol=1e-6)
        labels.append(preds[order[0]])
        assert len(load_fold_models(tcfg, comp.classes, cpu, fold)) == 1
    assert not np.allclose(labels[0], labels[1])  # two different teachers


def test_crops_without_soft_labels_are_left_out_of_the_distillation_term(tmp_path):
    """Pseudo-labels cover only the unlabeled recordings: a labelled recording's crop carries
    zeros and teacher_weight 0, and no form of the term may read those zeros as "silence"
    (with BCE they pulled every labelled crop's scores down, worse than no self-training)."""
    for rid in ("lab", "unl"):
        save_cached(tmp_path / f"{rid}.npy", np.zeros(8000, dtype=np.float32))
    recordings = pd.DataFrame({"id": ["lab", "unl"], "labels": [[0], []],
                               "cache_path": [str(tmp_path / f"{r}.npy") for r in ("lab", "unl")],
                               "unlabeled": [np.nan, True]})
    events = pd.DataFrame({"id": ["lab"], "cls": [0], "t_min": [0.0], "t_max": [np.inf]})
    pseudo = [(np.zeros(0), np.zeros((0, 2), np.float32), None),
              (np.array([0.0]), np.array([[0.1, 0.8]], np.float32), None)]
    ds = SedDataset(recordings, events, 2, 1000, 4.0, hop_length=100, teacher=pseudo, window=5.0)
    assert [float(ds[i]["teacher_weight"]) for i in range(2)] == [0.0, 1.0]
    clip = torch.tensor([[0.9, 0.1], [0.2, 0.7]])
    batch = {"target": torch.tensor([[1.0, 0.0], [0.0, 0.0]]), "weight": torch.ones(2, 2),
             "teacher": torch.tensor([[0.0, 0.0], [0.1, 0.8]]),
             "teacher_weight": torch.tensor([0.0, 1.0])}
    base = PANNsLoss()
    for kind in ("bce", "kl", "ce"):
        got = Distill(base, 1.0, kind)({"clipwise_output": clip}, batch)
        term = Distill(base, 1.0, kind)({"clipwise_output": clip[1:]},
                                        {k: v[1:] for k, v in batch.items()}) - base(
            {"clipwise_output": clip[1:]}, {k: v[1:] for k, v in batch.items()})
        assert float(got) == pytest.approx(float(base({"clipwise_output": clip}, batch) + term))


def test_soundscapes_need_a_competition_that_has_them():
    with pytest.raises(ConfigError, match="has none"):
        load_config("birdclef2023", {"distill_audio": "soundscapes", "distill_weight": 1.0})
    cfg = load_config("birdclef2025", {"distill_audio": "soundscapes", "distill_weight": 1.0})
    assert unlabeled_folder(cfg) == "input/birdclef-2025/train_soundscapes"
    with pytest.raises(ConfigError, match="is this experiment"):  # it would read its own run
        load_config("birdclef2025", {"distill_audio": "soundscapes", "distill_weight": 1.0,
                                     "pseudo_labels": "birdclef2025"})
