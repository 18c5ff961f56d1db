"""What a run leaves to be understood and repeated: its saved config re-runs it to the same CV,
run.json says how it differs from its parent, plot.py draws its curves and a recording, and the
epoch's progress bar shows speed and running loss."""
import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

import plot
import train
from configs import Config, load_config
from conftest import assert_out_of_fold, cwd, train_tiny
from progress import train_bar
from runinfo import run_info, save_run

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A tiny demo trained once (2 folds x 1 epoch) from its experiment file."""
    work = tmp_path_factory.mktemp("runs")
    return work, train_tiny(work, "tinyrun", seed=3, n_train=12)


def test_saved_config_reruns_to_the_same_cv(trained):
    work, _ = trained
    with cwd(work):
        first = json.loads(Path("oof/tinyrun.json").read_text())
        first_preds = np.load("oof/tinyrun.npy")
        shutil.move("models/tinyrun", "models/first")
        for f in Path("oof").glob("tinyrun*"):
            f.unlink()
        train.main(["models/first/config.json"])  # the name stays: outputs as before
        again = json.loads(Path("oof/tinyrun.json").read_text())
        assert again["cv"] == first["cv"] and again["fold_cv"] == first["fold_cv"]
        assert np.array_equal(np.load("oof/tinyrun.npy"), first_preds)
        assert (json.loads(Path("models/tinyrun/config.json").read_text())
                == json.loads(Path("models/first/config.json").read_text()))
        shutil.rmtree("models/tinyrun")
        shutil.move("models/first", "models/tinyrun")


def test_no_fold_model_saw_its_validation_recordings(trained):
    work, _ = trained
    folds = next((work / "input/cache").glob("*/folds_k2_seed42.csv"))
    assert assert_out_of_fold(work / "models/tinyrun", folds) == 2


def test_a_fold_refuses_to_train_on_its_validation_recordings():
    """Only the teacher's unlabeled copies of the validation audio (distill_audio = "valid")
    may join the training set; a labelled one stops the run before it trains."""
    from folds import fold_split, out_of_fold

    recordings = pd.DataFrame({"id": list("abcd"), "fold": [0, 1, 0, 1]})
    train, valid = fold_split(recordings, 0)
    assert out_of_fold(train, valid, "fold0") == ["b", "d"]
    as_unlabeled = pd.concat([train, valid.assign(unlabeled=True)], ignore_index=True)
    assert out_of_fold(as_unlabeled, valid, "fold0") == ["b", "d"]
    with pytest.raises(SystemExit, match="fold0 would train on 2 of its own validation"):
        out_of_fold(recordings, valid, "fold0")
    assert fold_split(recordings, None)[0]["id"].tolist() == list("abcd")  # a full fit


def test_saved_config_keeps_types_name_and_takes_overrides(tmp_path):
    for exp in ("exp000", "exp002", "bird003"):
        cfg = load_config(exp, {"train_folds": (0, 1)})
        path = tmp_path / f"{exp}.json"
        path.write_text(json.dumps(cfg.to_dict()))
        again = load_config(str(path))
        assert again.to_dict() == cfg.to_dict()  # tuples stay tuples: resume compares these
        assert type(again) is type(cfg) and again.name == exp
    renamed = {**cfg.to_dict(), "name": "gone", "epochs": 3}  # no configs/gone.py any more
    path.write_text(json.dumps(renamed))
    again = load_config(str(path), {"lr": 0.5})
    assert type(again) is Config and (again.name, again.epochs, again.lr) == ("gone", 3, 0.5)


def test_run_info_tells_parent_diff_git_and_versions():
    info = run_info(load_config("exp002", {"epochs": 3}))
    assert info["parents"] == ["configs.exp001.Config"]
    assert info["from_parent"] == {"channels": {"from": ["logmel"], "to": ["logmel", "pcen"]},
                                   "epochs": {"from": 8, "to": 3}}
    assert info["from_base"]["backbone"] == {"from": "tf_efficientnet_b0",
                                             "to": "mobilenetv3_small_100"}
    assert "lr" in info["from_base"] and "lr" not in info["from_parent"]
    assert info["packages"]["torch"] == torch.__version__.split("+")[0]
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True,
                          text=True)
    if head.returncode == 0:  # a checkout (CI's clone): its commit and state
        assert info["git"]["commit"] == head.stdout.strip()
        assert isinstance(info["git"]["dirty"], bool)
    else:  # an unpacked archive: said so, not made up
        assert info["git"] == {"commit": None, "dirty": None, "changed": []}


def test_train_saves_run_json(trained):
    work, _ = trained
    info = json.loads((work / "models/tinyrun/run.json").read_text())
    assert info["experiment"] == "tinyrun"
    assert info["from_parent"]["epochs"] == {"from": 8, "to": 1}
    assert info["packages"]["timm"] and "torchlibrosa" in info["packages"]


def test_save_run_writes_a_diff_only_for_a_dirty_tree(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = load_config("exp001")
    out = save_run(cfg)
    info = json.loads((out / "run.json").read_text())
    tracked = any(not line.startswith("??") for line in info["git"]["changed"])
    assert (out / "git.diff").exists() == tracked  # untracked files are listed, not diffed
    if tracked:
        assert (out / "git.diff").read_text().startswith("diff --git")
    assert json.loads((out / "config.json").read_text()) == json.loads(json.dumps(cfg.to_dict()))


def is_drawn_png(path: Path) -> bool:
    image = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32)
    return path.read_bytes()[:4] == b"\x89PNG" and image.std() > 10  # not a blank page


def test_plot_curves_and_a_recording_out_of_fold(trained):
    work, path = trained
    with cwd(work):
        plot.main([path])
        assert is_drawn_png(work / "models/tinyrun/plots/curves.png")
        cfg = load_config(path)
        folds = pd.read_csv(next(Path("input/cache").glob("*/folds_k2_seed42.csv")), dtype=str)
        rid = folds["id"][0]
        rec = plot.find_recording(cfg, rid)
        assert rec.fold == int(folds["fold"][0]) and len(rec.events) > 0
        assert rec.labels and set(rec.events["cls"]) <= set(rec.labels)
        plot.main([path, "--recording", rid, "--out", "pics"])
        assert is_drawn_png(work / "pics" / f"{rid}.png")
        _, _, name = plot.load_checkpoint(cfg, rec.fold, torch.device("cpu"))
        assert name == f"fold{rec.fold}.pt"  # the model that never trained on it
        wav = min(Path("input/tiny/test").glob("*.flac"))  # any audio file
        plot.main([path, "--recording", str(wav), "--out", "pics"])
        assert is_drawn_png(work / "pics" / f"{wav.stem}.png")


def test_epoch_bar_shows_speed_loss_and_last_scores(trained):
    work, path = trained
    with cwd(work):
        cfg = load_config(path)
        from competitions import competition_for
        from recordings import load_train_table

        comp = competition_for(cfg)
        recordings, events = load_train_table(cfg, comp)
        _, _, loader = train.train_loader(cfg, 3, recordings, events, 0, torch.device("cpu"))
        trainer = train.build_trainer(cfg, 3, len(loader), torch.device("cpu"))
        trainer.log.append({"epoch": 0, "loss": 0.7, "lwlrap": 0.625})
        out = io.StringIO()
        for batch in train_bar(loader, "fold0 epoch 1", trainer, "lwlrap", file=out,
                               mininterval=0, leave=True):
            trainer.train_step(batch)
    text = out.getvalue().split("\r")[-1]
    assert f"{len(loader) * cfg.batch_size}/{len(loader) * cfg.batch_size}" in text
    assert re.search(r"clip/s|s/clip", text) and "last_lwlrap=0.6250" in text  # speed
    assert f"loss={trainer.running['loss'] / trainer.running['count']:.4f}" in text
