"""The optional BirdNET teacher: class mapping, the cached windows, distillation targets.
Tests that run the model skip when the extra (requirements-teacher.txt) is not installed."""
import numpy as np
import pandas as pd
import pytest
import torch

import teacher
from audio import save_cached
from configs import Config
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


def soft_dataset(tmp_path, pick_by="energy", crop_pick=1):
    save_cached(tmp_path / "r.npy", np.zeros(10 * 1000, dtype=np.float32))
    recordings = pd.DataFrame({"id": ["r"], "cache_path": [str(tmp_path / "r.npy")],
                               "labels": [[0]]})
    events = pd.DataFrame({"id": ["r"], "cls": [0], "t_min": [0.0], "t_max": [np.inf]})
    starts = np.arange(8.0)  # 3-s windows every second; the teacher hears class 1 at 6-9 s
    probs = np.zeros((8, 2), dtype=np.float32)
    probs[:, 0] = 0.2
    probs[6:, 0], probs[6, 1] = 0.9, 0.7
    return SedDataset(recordings, events, 2, 1000, 4.0, hop_length=100, teacher=[(starts, probs)],
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


@needs_birdnet
@pytest.mark.parametrize("backbone", ["birdnet", "birdnet_head"])
def test_teacher_experiments_write_oof_and_submission(backbone, tmp_path, monkeypatch,
                                                      write_config):
    import infer
    import prepare
    import train
    from make_demo import LAYOUTS
    from oof import Oof

    LAYOUTS["birdclef"](tmp_path / "input" / "demo", seed=4, n_species=3, n_train=6, n_test=1,
                        duration=6.0, sr=16000)
    config = write_config(tmp_path / f"t{backbone}.py", competition="birdclef",
                          data_dir="input/demo", sample_rate=16000, n_folds=2,
                          backbone=backbone, teacher_hop=3.0, epochs=2, batch_size=4,
                          head_hidden=16, duration=3.0, num_workers=0)
    monkeypatch.chdir(tmp_path)
    for step in (prepare, train, infer):
        step.main([config])
    oof = Oof.load(f"oof/t{backbone}.npy")
    assert oof.preds.shape == (6, 3) and np.isfinite(oof.preds).all()
    sub = pd.read_csv(f"submissions/t{backbone}.csv")
    solution = pd.read_csv("input/demo.solution.csv")
    assert sub["row_id"].tolist() == solution["row_id"].tolist()
    assert list(sub.columns[1:]) == oof.classes and sub[oof.classes].to_numpy().max() > 0
