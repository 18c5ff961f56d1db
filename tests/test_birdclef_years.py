"""BirdCLEF 2024 and 2025 (issue 27): Kaggle's macro ROC-AUC, the 2025 files, and a tiny 2025
demo trained, inferred and scored end to end."""
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

import infer
import metrics
import prepare
import score
import train
from competitions import COMPETITIONS, get_competition
from make_demo import LAYOUTS

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


def test_registry_names_the_years_metric():
    assert COMPETITIONS["birdclef"].metric == "padded_cmap"  # unchanged
    assert COMPETITIONS["birdclef2024"].metric == "macro_auc"
    assert COMPETITIONS["birdclef2025"].metric == "macro_auc"


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
    assert len(list((demo2025 / "train_soundscapes").glob("*.ogg"))) == 1
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
    assert len(list((out / "unlabeled_soundscapes").glob("*.ogg"))) == 1
    comp = get_competition("birdclef2024", str(out))
    sample = pd.read_csv(out / "sample_submission.csv", dtype=str)
    assert comp.classes == list(sample.columns[1:])
    assert comp.test_rows()["row_id"].tolist() == sample["row_id"].tolist()


def test_2025_demo_trains_infers_and_scores(demo2025, monkeypatch, capsys, write_config):
    work = demo2025.parent.parent
    config = write_config(
        work / "e2e2025.py", competition="birdclef2025", data_dir="input/demo",
        solution_csv="input/demo.solution.csv", sample_rate=8000, duration=2.0, n_folds=2,
        epochs=1, batch_size=4, n_fft=256, hop_length=160, mel_bins=16, backbone="resnet10t",
        head_hidden=16, num_workers=0)
    monkeypatch.chdir(work)
    for step in (prepare, train, infer):
        step.main([config])
    capsys.readouterr()
    score.main([config])
    line = capsys.readouterr().out.strip().splitlines()[-1]
    m = re.search(r"cv_macro_auc=(\S+) test_macro_auc=(\S+) ", line)
    assert m, line
    assert 0 <= float(m[1]) <= 1 and 0 <= float(m[2]) <= 1
    sub = pd.read_csv(work / "submissions" / "e2e2025.csv", dtype={"row_id": str})
    sample = pd.read_csv(demo2025 / "sample_submission.csv", dtype={"row_id": str})
    assert list(sub.columns) == list(sample.columns)
    assert sub["row_id"].tolist() == sample["row_id"].tolist()
