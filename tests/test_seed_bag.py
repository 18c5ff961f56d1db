"""A seed bag: several models per fold, each from its own seed, whose mean is what validation
scores and what inference and export load, exactly as the folds of an experiment are averaged."""
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from backends import checkpoint_paths, load_fold_models
from competitions import competition_for
from conftest import assert_out_of_fold, cwd, train_tiny
from configs import Config, load_config
from cache import folds_path
from recordings import load_train_table
from windows import RecordingWindows
from scoring import predict_timelines


@pytest.fixture(scope="module")
def bagged(tmp_path_factory):
    work = tmp_path_factory.mktemp("bag")
    return work, train_tiny(work, "tinybag", seed=4, n_train=10, seed_bag=2)


def test_each_fold_has_its_members_and_scores_their_mean(bagged):
    work, path = bagged
    with cwd(work):
        cfg = load_config(path)
        names = sorted(p.name for p in Path("models/tinybag").glob("fold*.pt")
                       if not p.name.endswith(".last.pt"))
        assert names == ["fold0.pt", "fold0_bag1.pt", "fold1.pt", "fold1_bag1.pt"]
        assert assert_out_of_fold(Path("models/tinybag"), folds_path(cfg)) == 4  # every member
        members = [torch.load(f"models/tinybag/fold0{s}.pt", weights_only=False)["model"]
                   for s in ("", "_bag1")]
        assert any(not torch.equal(members[0][k], members[1][k]) for k in members[0]
                   if members[0][k].is_floating_point())  # two seeds, two models
        assert len(checkpoint_paths(cfg)) == 4 and len(checkpoint_paths(cfg, fold=1)) == 2
        # the fold's OOF part is the members' mean, predicted as infer.py would
        recordings, _ = load_train_table(cfg, competition_for(cfg))
        valid = recordings[recordings.fold == 0]
        models = load_fold_models(cfg, 3, torch.device("cpu"), fold=0)
        windows = RecordingWindows.from_config(valid.cache_path, cfg)
        mean = {i: t.max(axis=0) for i, (t,) in
                predict_timelines(models, windows, cfg, torch.device("cpu"), ensemble=True)}
        with np.load("models/tinybag/oof_fold0.npz") as z, \
                np.load("models/tinybag/oof_fold0_bag0.npz") as first:
            assert np.allclose(z["preds"], np.stack([mean[i] for i in range(len(valid))]),
                               atol=1e-6)
            assert not np.allclose(z["preds"], first["preds"])  # not one member's alone
        # each member's own part and scores are kept beside the bag's
        assert Path("models/tinybag/oof_fold0_bag0.npz").exists()
        assert Path("models/tinybag/oof_fold0_bag1.npz").exists()
        bag_scores = json.loads(Path("models/tinybag/scores_fold0.json").read_text())
        assert bag_scores["members"] == 2
        assert json.loads(Path("models/tinybag/scores_fold0_bag1.json").read_text())["epoch"] == 0


def test_a_shrunk_bag_leaves_out_its_old_members(bagged):
    work, path = bagged
    with cwd(work):
        cfg = load_config(path, {"seed_bag": 1})
        assert [p.name for p in checkpoint_paths(cfg)] == ["fold0.pt", "fold1.pt"]


def test_fold_seed_keeps_the_folds_of_another_seed(bagged):
    work, path = bagged
    with cwd(work):
        same = load_config(path, {"seed": 7, "fold_seed": 42})
        assert folds_path(same) == folds_path(load_config(path))
        assert folds_path(load_config(path, {"seed": 7})) != folds_path(load_config(path))


def test_a_mixed_bag_trains_and_loads_each_member_with_its_overrides(tmp_path):
    path = train_tiny(tmp_path, "tinymix", seed=5, n_train=6, seed_bag=2, train_folds=(0,),
                      crops_per_file=2, bag_overrides=({}, {"channels": ("logmel", "pcen")}),
                      validate_members=False)
    with cwd(tmp_path):
        cfg = load_config(path)
        assert cfg.member(1).channels == ("logmel", "pcen") and cfg.member(2).channels == (
            "logmel",)  # members cycle through the overrides
        saved = torch.load("models/tinymix/fold0_bag1.pt", weights_only=False)
        assert saved["config"]["channels"] == ("logmel", "pcen")
        models = load_fold_models(cfg, 3, torch.device("cpu"), fold=0)  # each its own shape
        assert [m.front_end_spec[-1] for m in models] == [("logmel",), ("logmel", "pcen")]
        assert Path("models/tinymix/oof_fold0.npz").exists()  # the bag's mean was validated
        assert not list(Path("models/tinymix").glob("*_bag*.npz"))  # its members were not
        assert not list(Path("models/tinymix").glob("scores_*_bag*.json"))
        assert saved["epoch"] == 0 and saved["score"] is None  # kept after its last epoch


def test_bag_overrides_refuse_what_the_members_must_share():
    with pytest.raises(ValueError, match="infer_hop"):  # when the config loads, not mid-run
        load_config("exp001", {"seed_bag": 2, "bag_overrides": ({}, {"infer_hop": 1.0})})
    cfg = Config(seed_bag=2, bag_overrides=({}, {"infer_hop": 1.0}))
    with pytest.raises(ValueError, match="infer_hop"):
        cfg.member(1)
    with pytest.raises(AttributeError, match="chanels"):
        load_config("exp001", {"bag_overrides": ({"chanels": ("pcen",)},)})
