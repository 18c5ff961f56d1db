"""The weak-label competition formats (Cornell 2020, BirdCLEF, BirdCLEF 2021) and their metrics:
tables on tiny generated demos and hand-made CSVs, submissions, malformed input, real data."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from sklearn.metrics import average_precision_score, f1_score, roc_auc_score

import metrics
from competitions import COMPETITIONS, get_competition
from competitions.birdclef import BirdClef, BirdClef2021
from competitions.cornell2020 import Cornell2020
from competitions.tables import check_submission
from conftest import SHARED_DATA
from make_demo import make_birdclef_demo, make_cornell2020_demo

TINY = dict(n_species=3, n_train=6, n_test=2, duration=4.0, sr=16000)  # soundscapes 12 s, 18 s
SHARED = SHARED_DATA
BIRDSONG = SHARED / "birdsong"
CORNELL_EXAMPLE = SHARED / "cornell-example"
TEST_COLUMNS = ["row_id", "audio_id", "path", "t_start", "t_end"]


def _solution(out: Path) -> Path:
    return out.with_name(out.name + ".solution.csv")


@pytest.fixture(scope="module")
def cornell(tmp_path_factory) -> Path:
    return make_cornell2020_demo(tmp_path_factory.mktemp("c") / "cornell", seed=0, **TINY)


@pytest.fixture(scope="module")
def birdclef(tmp_path_factory) -> Path:
    return make_birdclef_demo(tmp_path_factory.mktemp("b") / "birdclef", seed=0, **TINY)


def _ogg(path: Path, seconds: float, sr: int = 8000) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    x = 0.1 * np.random.default_rng(0).standard_normal(int(seconds * sr)).astype(np.float32)
    with sf.SoundFile(str(path), "w", sr, 1, format="OGG", subtype="VORBIS") as f:
        for i in range(0, len(x), 32768):
            f.write(x[i:i + 32768])


@pytest.fixture(scope="module")
def birdclef2021(birdclef: Path, tmp_path_factory) -> Path:
    """The birdclef demo's train side with a 2021 test side: test.csv rows
    `<audio_id>_<site>_<seconds>` and soundscapes `<audio_id>_<site>_<date>.ogg`."""
    root = tmp_path_factory.mktemp("b21") / "birdclef2021"
    root.mkdir()
    shutil.copy(birdclef / "train_metadata.csv", root)
    shutil.copytree(birdclef / "train_audio", root / "train_audio")
    _ogg(root / "test_soundscapes" / "7019_COR_20190904.ogg", 12.0)
    _ogg(root / "test_soundscapes" / "2782_SSW_20170701.ogg", 7.0)
    rows = [("2782_SSW_5", "SSW", "2782", 5), ("2782_SSW_10", "SSW", "2782", 10),
            ("7019_COR_5", "COR", "7019", 5), ("9999_SNE_5", "SNE", "9999", 5),  # no file
            ("7019_COR_10", "COR", "7019", 10), ("7019_COR_15", "COR", "7019", 15)]
    pd.DataFrame(rows, columns=["row_id", "site", "audio_id", "seconds"]).to_csv(
        root / "test.csv", index=False)
    return root


# --- metrics ------------------------------------------------------------------------------

def test_f1_rowwise_hand_examples() -> None:
    y = np.array([[1, 0, 0], [0, 0, 0], [0, 0, 0], [1, 1, 0], [0, 1, 0]])
    s = np.array([[0.9, 0, 0],      # exact: 1
                  [0.1, 0.2, 0],    # nocall == nocall: 1
                  [0.6, 0, 0],      # bird predicted in a silent row: 0
                  [0.9, 0, 0.7],    # {0, 2} vs {0, 1}: 2 * 1 / (2 + 2) = 0.5
                  [0.1, 0.2, 0.3]])  # nocall predicted, a bird there: 0
    assert metrics.f1_rowwise(y, s, 0.5) == pytest.approx(2.5 / 5)
    assert metrics.f1_rowwise(y, np.full((5, 3), 0.5), 0.5) == pytest.approx(
        (2 / 4 + 0 + 0 + 2 * 2 / 5 + 2 / 4) / 5)  # score == threshold is a prediction
    assert metrics.f1_rowwise(y, y, 0.5) == 1.0
    assert metrics.METRICS["f1_rowwise"] is metrics.f1_rowwise


def test_f1_rowwise_is_samples_f1_with_a_nocall_label() -> None:
    rng = np.random.default_rng(1)
    y = (rng.random((300, 6)) < 0.15).astype(int)
    s = rng.random((300, 6)) + 0.3 * y
    pred = (s >= 0.7).astype(int)
    nocall = lambda m: np.c_[m, m.sum(1) == 0]  # noqa: E731
    ref = f1_score(nocall(y), nocall(pred), average="samples")
    assert metrics.f1_rowwise(y, s, 0.7) == pytest.approx(ref, abs=1e-12)


def _scores(seed: int = 2) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random((120, 7)) < 0.2).astype(float)
    y[:, 0] = 0  # a class never present
    y[:, 1] = 1  # a class always present
    s = np.round(rng.random((120, 7)) + 0.4 * y, 1)  # rounded: ties
    return y, s


def test_padded_cmap_matches_sklearn_on_padded_arrays() -> None:
    y, s = _scores()
    for pad in (5, 1):
        ref = average_precision_score(np.vstack([y, np.ones((pad, 7))]),
                                      np.vstack([s, np.ones((pad, 7))]), average="macro")
        assert metrics.padded_cmap(y, s, padding=pad) == pytest.approx(ref, abs=1e-12)
    assert metrics.METRICS["padded_cmap"](y, s) == pytest.approx(metrics.padded_cmap(y, s, 5))
    assert metrics.padded_cmap(y, y) == pytest.approx(1.0)


def test_macro_auc_matches_sklearn_over_eligible_classes() -> None:
    y, s = _scores()
    keep = (y.sum(0) > 0) & (y.sum(0) < len(y))
    assert not keep[0] and not keep[1] and keep[2:].all()
    ref = roc_auc_score(y[:, keep], s[:, keep], average="macro")
    assert metrics.macro_auc(y, s) == pytest.approx(ref, abs=1e-12)
    assert metrics.METRICS["macro_auc"] is metrics.macro_auc
    assert np.isnan(metrics.macro_auc(np.ones((4, 2)), np.zeros((4, 2))))


# --- Cornell 2020 -----------------------------------------------------------------------------

def test_registry() -> None:
    assert COMPETITIONS["cornell2020"] is Cornell2020
    assert COMPETITIONS["birdclef"] is COMPETITIONS["birdclef2023"]  # the old name, an alias
    assert issubclass(COMPETITIONS["birdclef2023"], BirdClef)
    assert COMPETITIONS["birdclef2021"] is BirdClef2021
    assert issubclass(BirdClef2021, BirdClef)
    assert (Cornell2020.metric, BirdClef.metric, BirdClef2021.metric) == (
        "f1_rowwise", "padded_cmap", "f1_rowwise")


def test_cornell_train_tables(cornell: Path) -> None:
    comp = get_competition("cornell2020", str(cornell))
    train = pd.read_csv(cornell / "train.csv", dtype=str)
    assert comp.classes == sorted(train.ebird_code.unique())
    rec = comp.train_recordings()
    assert list(rec.columns) == ["id", "path", "group", "labels", "secondary"]
    assert rec["id"].tolist() == [Path(f).stem for f in train.filename]
    assert rec["id"].is_unique and all(Path(p).exists() for p in rec["path"])
    assert rec["path"].tolist() == [str(cornell / "train_audio" / c / f)
                                    for c, f in zip(train.ebird_code, train.filename)]
    assert rec["labels"].tolist() == [[comp.classes.index(c)] for c in train.ebird_code]
    assert rec["group"].tolist() == train.author.tolist()
    ev = comp.train_events()
    assert list(ev.columns) == ["id", "cls", "t_min", "t_max"]
    assert ev["id"].tolist() == rec["id"].tolist()
    assert ev["cls"].tolist() == [labels[0] for labels in rec["labels"]]
    assert (ev.t_min == 0).all() and np.isinf(ev.t_max).all()


def _cornell_dir(tmp: Path, rows: list[dict]) -> Path:
    (tmp / "train_audio").mkdir(parents=True)
    pd.DataFrame(rows).to_csv(tmp / "train.csv", index=False)
    return tmp


def test_cornell_secondary_names_map_to_codes(tmp_path: Path) -> None:
    rows = [dict(ebird_code="wilfly", filename="XC1.mp3", author="A",
                 primary_label="Empidonax traillii_Willow Flycatcher",
                 sci_name="Empidonax traillii", species="Willow Flycatcher",
                 secondary_labels="['Quiscalus quiscula_Common Grackle', 'Passer domesticus_House "
                                  "Sparrow', 'Empidonax traillii_Willow Flycatcher']"),
            dict(ebird_code="comgra", filename="XC2.mp3", author=None,  # named by sci_name_species
                 primary_label=None, sci_name="Quiscalus quiscula",
                 species="Common Grackle", secondary_labels="[]"),
            dict(ebird_code="comgra", filename="XC3.mp3", author="A", primary_label=None,
                 sci_name="Quiscalus quiscula", species="Common Grackle",
                 secondary_labels="['Empidonax traillii_Willow Flycatcher']")]
    comp = Cornell2020(_cornell_dir(tmp_path, rows))
    assert comp.classes == ["comgra", "wilfly"]
    rec = comp.train_recordings()
    # unknown species dropped, the primary itself not repeated as secondary
    assert rec["secondary"].tolist() == [[0], [], [1]]
    assert rec["labels"].tolist() == [[1], [0], [0]]
    assert rec["group"].tolist() == ["A", "XC2", "A"]  # no author: the file is its own group


def test_cornell_test_rows_follow_test_csv(cornell: Path, tmp_path: Path) -> None:
    comp = Cornell2020(cornell)
    test = pd.read_csv(cornell / "test.csv", dtype=str)
    rows = comp.test_rows()
    assert list(rows.columns) == TEST_COLUMNS
    assert rows["row_id"].tolist() == test["row_id"].tolist()
    chunks = test["seconds"].notna().to_numpy()
    assert (test.site[chunks] == "site_1").all() and (test.site[~chunks] == "site_3").all()
    assert chunks.sum() == 2 + 3 and (~chunks).sum() == 1  # 12-s and 18-s soundscapes, a clip
    secs = test["seconds"][chunks].astype(float).to_numpy()
    assert np.array_equal(rows["t_end"][chunks], secs)
    assert np.array_equal(rows["t_start"][chunks], secs - 5)
    assert rows["t_start"][~chunks].tolist() == [0.0] and rows["t_end"][~chunks].isna().all()
    assert all(Path(p).exists() and Path(p).stem == a for p, a in zip(rows.path, rows.audio_id))
    # --audio-dir wins over test_audio/
    other = tmp_path / "elsewhere"
    shutil.copytree(cornell / "test_audio", other)
    moved = comp.test_rows(other)
    assert [Path(p).parent for p in moved.path] == [other] * len(moved)
    assert moved["row_id"].tolist() == rows["row_id"].tolist()


def test_cornell_without_test_audio_has_no_rows(cornell: Path, tmp_path: Path) -> None:
    test_dir = tmp_path / "public"
    test_dir.mkdir()
    shutil.copy(cornell / "test.csv", test_dir)  # the public download: no test_audio/
    rows = Cornell2020(cornell, test_dir=test_dir).test_rows()
    assert list(rows.columns) == TEST_COLUMNS and len(rows) == 0
    with pytest.raises(SystemExit, match="not a folder"):
        Cornell2020(cornell).test_rows(tmp_path / "missing")


def test_cornell_ids_stay_text_and_other_extensions(cornell: Path, tmp_path: Path) -> None:
    (tmp_path / "test_audio").mkdir()
    sf.write(tmp_path / "test_audio" / "0012.wav", np.zeros(800, np.float32), 8000)
    pd.DataFrame({"site": ["site_3"], "row_id": ["site_3_0012"], "seconds": [None],
                  "audio_id": ["0012"]}).to_csv(tmp_path / "test.csv", index=False)
    rows = Cornell2020(cornell, test_dir=tmp_path).test_rows()
    assert rows["audio_id"].tolist() == ["0012"]
    assert rows["path"].tolist() == [str(tmp_path / "test_audio" / "0012.wav")]


def test_cornell_submission_thresholds_and_nocall(cornell: Path) -> None:
    comp = get_competition("cornell2020", str(cornell), threshold=0.3)
    rows = comp.test_rows()
    ids = rows["row_id"].tolist()
    scores = np.zeros((len(ids), len(comp.classes)))
    scores[0, [0, 2]] = [0.3, 0.9]  # both at/above 0.3
    scores[1, 1] = 0.29  # below: nocall
    sub = comp.make_submission(ids, scores)
    assert list(sub.columns) == ["row_id", "birds"] and sub["row_id"].tolist() == ids
    assert sub["birds"][0] == f"{comp.classes[0]} {comp.classes[2]}"
    assert (sub["birds"][1:] == "nocall").all()
    with pytest.raises(ValueError, match="row"):
        comp.make_submission(ids[::-1], scores)
    with pytest.raises(ValueError, match="row"):
        comp.make_submission(ids[:-1], scores[:-1])


def test_cornell_solution_and_score(cornell: Path, tmp_path: Path) -> None:
    comp = Cornell2020(cornell)
    row_ids, truth = comp.load_solution(_solution(cornell))
    assert row_ids == comp.test_rows()["row_id"].tolist()
    sol = pd.read_csv(_solution(cornell), dtype=str)
    for i, birds in enumerate(sol["birds"]):
        expect = set() if birds == "nocall" else set(birds.split())
        assert {comp.classes[k] for k in np.flatnonzero(truth[i])} == expect
    assert comp.score(truth, truth) == 1.0
    # a written submission reads back as its own predictions
    sub = comp.make_submission(row_ids, truth * 0.9)
    sub.to_csv(tmp_path / "sub.csv", index=False)
    assert np.array_equal(comp.load_solution(tmp_path / "sub.csv")[1], truth)
    # score() uses the competition's threshold
    half = truth * 0.6
    assert Cornell2020(cornell, threshold=0.5).score(truth, half) == 1.0
    assert Cornell2020(cornell, threshold=0.7).score(truth, half) == pytest.approx(
        metrics.f1_rowwise(truth, np.zeros_like(truth)))


# --- BirdCLEF ------------------------------------------------------------------------------

def test_birdclef_train_tables(birdclef: Path) -> None:
    comp = get_competition("birdclef", str(birdclef))
    meta = pd.read_csv(birdclef / "train_metadata.csv", dtype=str)
    sample = pd.read_csv(birdclef / "sample_submission.csv", nrows=0)
    assert comp.classes == [c for c in sample.columns if c != "row_id"]
    rec = comp.train_recordings()
    assert list(rec.columns) == ["id", "path", "group", "labels", "secondary"]
    assert rec["id"].tolist() == [f.rsplit(".", 1)[0] for f in meta.filename]
    assert all("/" in i for i in rec["id"]) and rec["id"].is_unique
    assert rec["path"].tolist() == [str(birdclef / "train_audio" / f) for f in meta.filename]
    assert all(Path(p).exists() for p in rec["path"])
    assert rec["labels"].tolist() == [[comp.classes.index(c)] for c in meta.primary_label]
    assert rec["group"].tolist() == meta.author.tolist()
    ev = comp.train_events()
    assert ev["id"].tolist() == rec["id"].tolist() and np.isinf(ev.t_max).all()


def test_birdclef_secondary_and_classes_without_sample(tmp_path: Path) -> None:
    (tmp_path / "train_audio").mkdir()
    pd.DataFrame({"primary_label": ["eurrob1", "blutit", "blutit"],
                  "secondary_labels": ["['blutit', 'zzzzzz']", "[]", "['eurrob1', 'blutit']"],
                  "filename": ["eurrob1/XC1.ogg", "blutit/XC2.ogg", "blutit/XC3.ogg"]}).to_csv(
        tmp_path / "train_metadata.csv", index=False)
    comp = BirdClef(tmp_path)
    assert comp.classes == ["blutit", "eurrob1"]  # no sample_submission: the primary labels
    rec = comp.train_recordings()
    assert rec["secondary"].tolist() == [[0], [], [1]]
    assert rec["group"].tolist() == rec["id"].tolist() == ["eurrob1/XC1", "blutit/XC2",
                                                           "blutit/XC3"]
    assert len(comp.test_rows()) == 0 and list(comp.test_rows().columns) == TEST_COLUMNS


def test_birdclef_test_rows_cover_each_soundscape(birdclef: Path) -> None:
    comp = BirdClef(birdclef)
    rows = comp.test_rows()
    assert list(rows.columns) == TEST_COLUMNS
    files = sorted((birdclef / "test_soundscapes").glob("*.ogg"))
    lengths = {f.stem: sf.info(str(f)).duration for f in files}
    assert sorted(round(v, 3) for v in lengths.values()) == [12.0, 18.0]
    twelve = next(s for s, d in lengths.items() if round(d) == 12)
    part = rows[rows.audio_id == twelve]
    assert part["row_id"].tolist() == [f"{twelve}_5", f"{twelve}_10", f"{twelve}_15"]
    assert part["t_start"].tolist() == [0.0, 5.0, 10.0]
    assert part["t_end"].tolist() == [5.0, 10.0, 15.0]
    eighteen = next(s for s in lengths if s != twelve)
    assert rows[rows.audio_id == eighteen]["row_id"].str.rsplit("_", n=1).str[1].tolist() == [
        "5", "10", "15", "20"]
    assert rows["audio_id"].tolist() == sorted(rows["audio_id"])  # by file, then time
    sample = pd.read_csv(birdclef / "sample_submission.csv", dtype={"row_id": str})
    assert rows["row_id"].tolist() == sample["row_id"].tolist()


def test_birdclef_never_rows_for_absent_soundscapes(birdclef: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    shutil.copytree(birdclef, data)
    sample = pd.read_csv(data / "sample_submission.csv", dtype={"row_id": str})
    hidden = sample.iloc[:2].assign(row_id=["soundscape_1_5", "soundscape_1_10"])
    pd.concat([sample, hidden]).to_csv(data / "sample_submission.csv", index=False)
    rows = BirdClef(data).test_rows()
    assert not rows["row_id"].str.startswith("soundscape_1_").any()
    assert rows["row_id"].tolist() == sample["row_id"].tolist()
    shutil.rmtree(data / "test_soundscapes")
    assert len(BirdClef(data).test_rows()) == 0
    only = tmp_path / "only"
    _ogg(only / "x.ogg", 10.0)
    rows = BirdClef(data).test_rows(only)  # --audio-dir; exactly 10 s -> 2 rows, not 3
    assert rows["row_id"].tolist() == ["x_5", "x_10"] and rows.path[0] == str(only / "x.ogg")


def test_birdclef_submission_and_score(birdclef: Path) -> None:
    comp = BirdClef(birdclef)
    ids = comp.test_rows()["row_id"].tolist()
    scores = np.random.default_rng(0).random((len(ids), len(comp.classes)))
    sub = comp.make_submission(ids, scores)
    assert list(sub.columns) == ["row_id"] + comp.classes
    assert sub["row_id"].tolist() == ids and np.allclose(sub[comp.classes], scores)
    with pytest.raises(ValueError):
        comp.make_submission(ids[:-1], scores)
    bad = scores.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        comp.make_submission(ids, bad)
    row_ids, truth = comp.load_solution(_solution(birdclef))
    assert row_ids == ids and set(np.unique(truth)) <= {0, 1} and truth.any()
    assert comp.score(truth, scores) == pytest.approx(metrics.padded_cmap(truth, scores))
    assert comp.score(truth, truth) == pytest.approx(1.0)


def test_a_submission_with_two_class_columns_swapped_is_refused() -> None:
    """The check promises the sample's columns in the sample's order: the same names in
    another order mean the scores were laid out against a differently ordered class list."""
    columns = ["row_id", "amerob", "bkcchi", "norcar"]
    sub = pd.DataFrame([["r1", 0.1, 0.8, 0.3]], columns=columns)
    assert check_submission(sub, columns, "sample_submission.csv") is sub
    swapped = sub[["row_id", "bkcchi", "amerob", "norcar"]]
    with pytest.raises(ValueError, match="submission columns .* differ from sample_submission"):
        check_submission(swapped, columns, "sample_submission.csv")


# --- BirdCLEF 2021 -------------------------------------------------------------------------

def test_birdclef2021_rows_from_test_csv(birdclef2021: Path) -> None:
    comp = get_competition("birdclef2021", str(birdclef2021), threshold=0.5)
    assert comp.classes == BirdClef(birdclef2021).classes
    pd.testing.assert_frame_equal(comp.train_recordings().drop(columns="path"),
                                  BirdClef(birdclef2021).train_recordings().drop(columns="path"))
    rows = comp.test_rows()
    assert list(rows.columns) == TEST_COLUMNS
    # test.csv order; the row whose soundscape is absent (9999) dropped
    assert rows["row_id"].tolist() == ["2782_SSW_5", "2782_SSW_10", "7019_COR_5", "7019_COR_10",
                                       "7019_COR_15"]
    assert rows["t_start"].tolist() == [0.0, 5.0, 0.0, 5.0, 10.0]
    assert rows["t_end"].tolist() == [5.0, 10.0, 5.0, 10.0, 15.0]
    assert rows["audio_id"].tolist() == ["2782_SSW_20170701"] * 2 + ["7019_COR_20190904"] * 3
    assert all(Path(p).exists() for p in rows.path)


def test_birdclef2021_submission_and_score(birdclef2021: Path, tmp_path: Path) -> None:
    comp = BirdClef2021(birdclef2021, threshold=0.5)
    ids = comp.test_rows()["row_id"].tolist()
    scores = np.zeros((len(ids), len(comp.classes)))
    scores[2, 1] = 0.5
    sub = comp.make_submission(ids, scores)
    assert list(sub.columns) == ["row_id", "birds"] and sub["row_id"].tolist() == ids
    assert sub["birds"].tolist() == ["nocall", "nocall", comp.classes[1], "nocall", "nocall"]
    with pytest.raises(ValueError, match="row"):
        comp.make_submission(ids[::-1], scores)
    with pytest.raises(ValueError, match="row"):
        comp.make_submission(ids[:-1] + ["9999_XXX_5"], scores)
    pd.DataFrame({"row_id": ids, "birds": ["nocall"] * 2 + [comp.classes[1]] + ["nocall"] * 2}
                 ).to_csv(tmp_path / "labels.csv", index=False)
    row_ids, truth = comp.load_solution(tmp_path / "labels.csv")
    assert row_ids == ids and truth.sum() == 1 and truth[2, 1] == 1
    assert comp.score(truth, scores) == 1.0
    assert BirdClef2021(birdclef2021, threshold=0.6).score(truth, scores) == pytest.approx(0.8)


# --- malformed input -----------------------------------------------------------------------

def _meta(tmp: Path, text: str, sample: str | None = None) -> Path:
    (tmp / "train_audio").mkdir(parents=True, exist_ok=True)
    (tmp / "train_metadata.csv").write_text(text)
    if sample:
        (tmp / "sample_submission.csv").write_text(sample)
    return tmp


def _exit_message(make) -> str:
    with pytest.raises(SystemExit) as err:
        make()
    return str(err.value)


def test_missing_columns_name_file_and_header_line(tmp_path: Path) -> None:
    root = _meta(tmp_path / "b", "primary_label,filename\neurrob1,eurrob1/XC1.ogg\n")
    msg = _exit_message(lambda: BirdClef(root))
    assert str(root / "train_metadata.csv") in msg and "line 1" in msg
    assert "secondary_labels" in msg
    cornell = _cornell_dir(tmp_path / "c", [dict(ebird_code="amerob", secondary_labels="[]")])
    msg = _exit_message(lambda: Cornell2020(cornell))
    assert str(cornell / "train.csv") in msg and "line 1" in msg and "filename" in msg


def test_unknown_primary_label_names_its_line(tmp_path: Path) -> None:
    sample = "row_id,blutit,eurrob1\n"
    text = ("primary_label,secondary_labels,type,filename\n"
            "blutit,[],song,blutit/XC1.ogg\n"
            'eurrob1,[],"call,\nsong",eurrob1/XC2.ogg\n'  # a quoted field over two lines
            "grtit1,[],song,grtit1/XC3.ogg\n")
    root = _meta(tmp_path, text, sample)
    msg = _exit_message(lambda: BirdClef(root))
    assert str(root / "train_metadata.csv") in msg
    assert "line 5" in msg and "grtit1" in msg and "primary_label" in msg


@pytest.mark.parametrize("row, problem", [
    (",[],x/XC3.ogg", "empty primary_label"),
    ("blutit,\"['blutit',\",blutit/XC3.ogg", "secondary_labels"),  # unparsable list
    ("blutit,[],blutit/XC1.ogg", "duplicate"),  # same id as line 2
])
def test_broken_rows_name_their_line(tmp_path: Path, row: str, problem: str) -> None:
    text = "primary_label,secondary_labels,filename\nblutit,[],blutit/XC1.ogg\n"
    root = _meta(tmp_path, text + "eurrob1,[],eurrob1/XC2.ogg\n" + row + "\n")
    msg = _exit_message(lambda: BirdClef(root))
    assert str(root / "train_metadata.csv") in msg and "line 4" in msg and problem in msg


def test_cornell_bad_test_csv(cornell: Path, tmp_path: Path) -> None:
    (tmp_path / "test_audio").mkdir()
    pd.DataFrame({"site": ["site_1"], "row_id": ["r"], "audio_id": ["a"]}).to_csv(
        tmp_path / "test.csv", index=False)
    msg = _exit_message(lambda: Cornell2020(cornell, test_dir=tmp_path).test_rows())
    assert str(tmp_path / "test.csv") in msg and "line 1" in msg and "seconds" in msg
    pd.DataFrame({"site": ["site_1"] * 2, "row_id": ["r1", "r2"], "seconds": ["5", "five"],
                  "audio_id": ["a", "a"]}).to_csv(tmp_path / "test.csv", index=False)
    msg = _exit_message(lambda: Cornell2020(cornell, test_dir=tmp_path).test_rows())
    assert "line 3" in msg and "five" in msg


# --- real data (skipped where ../shared/data is absent) ------------------------------------

@pytest.mark.skipif(not BIRDSONG.exists(), reason="no ../shared/data/birdsong")
def test_birdclef_on_real_birdsong() -> None:
    comp = get_competition("birdclef", str(BIRDSONG))
    rec = comp.train_recordings()
    assert len(rec) == 145 and len(comp.classes) == 86
    assert all(Path(p).exists() for p in rec["path"])
    assert rec["id"].is_unique and rec["group"].nunique() > 1
    assert len(comp.train_events()) == 145
    rows = comp.test_rows()  # no test_soundscapes there
    assert len(rows) == 0 and list(rows.columns) == TEST_COLUMNS


@pytest.mark.skipif(not CORNELL_EXAMPLE.exists(), reason="no ../shared/data/cornell-example")
def test_cornell_on_real_test_files(cornell: Path) -> None:
    comp = get_competition("cornell2020", str(cornell), test_dir=str(CORNELL_EXAMPLE))
    test = pd.read_csv(CORNELL_EXAMPLE / "test.csv", dtype=str)
    rows = comp.test_rows()
    assert rows["row_id"].tolist() == test["row_id"].tolist()
    assert all(Path(p).exists() for p in rows["path"].unique())
    site3 = (test.site == "site_3").to_numpy()
    assert site3.sum() == 1
    assert rows["t_start"][site3].tolist() == [0.0] and rows["t_end"][site3].isna().all()
    secs = test["seconds"][~site3].astype(float).to_numpy()
    assert np.array_equal(rows["t_end"][~site3], secs)
    assert np.array_equal(rows["t_start"][~site3], secs - 5)
    sub = comp.make_submission(rows["row_id"].tolist(), np.zeros((len(rows), len(comp.classes))))
    assert sub["row_id"].tolist() == test["row_id"].tolist() and (sub.birds == "nocall").all()

    labels = pd.read_csv(CORNELL_EXAMPLE / "labels.csv", dtype=str)
    row_ids, truth = comp.load_solution(CORNELL_EXAMPLE / "labels.csv")
    assert row_ids == labels["row_id"].tolist() and len(row_ids) == 753
    listed = labels.birds.str.split().map(set)
    for k, code in enumerate(comp.classes):  # the demo's codes that the real labels use
        assert np.array_equal(truth[:, k] > 0, [code in b for b in listed])
    assert truth.sum() > 0  # amegfi is among the demo's classes and in labels.csv


def test_cornell_example_soundscapes_follow_the_summary(cornell: Path, tmp_path: Path) -> None:
    comp = get_competition("cornell2020", str(cornell))
    summary = pd.read_csv(cornell / "example_test_audio_summary.csv", dtype=str)
    assert list(summary.columns) == ["filename", "seconds", "birds"]
    rows, truth = comp.labelled_soundscapes()
    assert rows["row_id"].tolist() == (summary.filename + "_" + summary.seconds).tolist()
    files = sorted((cornell / "example_test_audio").iterdir())
    assert len(files) == 2 and set(rows["path"]) == {str(f) for f in files}
    for name, path in zip(summary.filename, rows["path"]):  # BLKFR-10-CPL -> BLKFR-10-CPL_...
        assert Path(path).name.startswith(f"{name}_")
    for path, part in rows.groupby("path"):  # complete 5-s chunks of each soundscape
        assert part["t_end"].max() <= sf.info(path).duration < part["t_end"].max() + 5
    assert np.array_equal(rows["t_end"], summary.seconds.astype(float))
    assert (rows["t_end"] - rows["t_start"] == 5).all()
    named = [" ".join(c for c, hit in zip(comp.classes, row) if hit) or "nocall" for row in truth]
    assert named == [" ".join(sorted(b.split())) for b in summary.birds]

    # filename_seconds is the row id where the summary has it; a missing soundscape's rows go
    root = tmp_path / "c"
    shutil.copytree(cornell, root, ignore=shutil.ignore_patterns("test_audio"))
    keep = Path(rows["path"].iloc[0]).name
    for f in (root / "example_test_audio").iterdir():
        if f.name != keep:
            f.unlink()
    summary.assign(filename_seconds=[f"x{i}" for i in range(len(summary))]).to_csv(
        root / "example_test_audio_summary.csv", index=False)
    rows2, truth2 = get_competition("cornell2020", str(root)).labelled_soundscapes()
    mine = (rows["path"] == rows["path"].iloc[0]).to_numpy()
    assert rows2["row_id"].tolist() == [f"x{i}" for i in np.flatnonzero(mine)]
    assert np.array_equal(truth2, truth[mine])
    (root / "example_test_audio_summary.csv").unlink()
    assert get_competition("cornell2020", str(root)).labelled_soundscapes() is None


@pytest.mark.skipif(not CORNELL_EXAMPLE.exists(), reason="no ../shared/data/cornell-example")
def test_cornell_example_soundscapes_read_real_ones(tmp_path: Path) -> None:
    """The two real site_1 soundscapes (BLKFR-10-CPL, ORANGE-7-CAP) under the competition's
    names, with a summary made from their labels: rows, times and truth come back as labelled."""
    labels = pd.read_csv(CORNELL_EXAMPLE / "labels.csv", dtype=str)
    test = pd.read_csv(CORNELL_EXAMPLE / "test.csv", dtype=str).merge(labels, on="row_id")
    site1 = test[test.site == "site_1"]
    codes = sorted({c for b in labels.birds for c in b.split()} - {"nocall"})
    root = tmp_path / "cornell"
    (root / "example_test_audio").mkdir(parents=True)
    (root / "train_audio").mkdir()
    pd.DataFrame({"ebird_code": codes, "filename": [f"XC{i}.mp3" for i in range(len(codes))],
                  "secondary_labels": "[]"}).to_csv(root / "train.csv", index=False)
    for audio_id, tail in zip(sorted(site1.audio_id.unique()), (".pt540", ".pt623")):
        (root / "example_test_audio" / f"{audio_id}{tail}.mp3").symlink_to(
            CORNELL_EXAMPLE / "test_audio" / f"{audio_id}.mp3")
    pd.DataFrame({"filename": site1.audio_id.str.split("_").str[0],
                  "seconds": site1.seconds.astype(float).astype(int), "birds": site1.birds}
                 ).to_csv(root / "example_test_audio_summary.csv", index=False)
    comp = get_competition("cornell2020", str(root))
    rows, truth = comp.labelled_soundscapes()
    assert len(rows) == len(site1) and rows["audio_id"].nunique() == 2
    assert np.array_equal(rows["t_end"], site1.seconds.astype(float))
    for audio_id, part in rows.groupby("audio_id"):  # 470 s and 305 s at 22.05 kHz
        assert part["t_end"].max() <= sf.info(part["path"].iloc[0]).duration + 5
    listed = site1.birds.str.split().map(set).tolist()
    for k, code in enumerate(comp.classes):
        assert np.array_equal(truth[:, k] > 0, [code in b for b in listed])
    assert truth.sum(axis=1).max() >= 2  # rows with several species
