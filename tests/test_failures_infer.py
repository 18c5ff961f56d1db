"""No silent wrong result from weights or checkpoints (issue 26): a pretrained_path either fills
every tensor of the backbone (or, for this project's own checkpoints, the whole model) or the
run stops naming the file and the counts; an unknown backbone stops with one line; inference
and export stop when a checkpoint was trained with another front end or other classes than
the run has, and map the sample submission's columns to the trained classes by name."""
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import timm
import torch

from conftest import TINY_RUN, cwd, train_tiny
from competitions import checked_submission, get_competition
from configs import load_config
from models import SedModel, build_model

SMALL = dict(n_classes=3, sample_rate=8000, n_fft=256, hop_length=128, mel_bins=16,
             backbone="resnet10t", head_hidden=16)


def same_weights(a: torch.nn.Module, b: torch.nn.Module, skip: str = "features.") -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa
                                          if not k.startswith(skip))


# --- pretrained_path ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def imagenet_like(tmp_path_factory) -> tuple[Path, torch.nn.Module]:
    """A timm-format file of resnet10t with ImageNet's 3 input channels, as the hub has it."""
    torch.manual_seed(3)
    source = timm.create_model("resnet10t", num_classes=1000, in_chans=3)
    path = tmp_path_factory.mktemp("weights") / "resnet10t.pth"
    torch.save(source.state_dict(), path)
    return path, source


@pytest.mark.parametrize("wrap", ["bare", "model.", "module.", "state_dict", "model"])
def test_common_wrappers_and_prefixes_fill_the_whole_backbone(imagenet_like, tmp_path, wrap,
                                                              capsys):
    path, source = imagenet_like
    sd = torch.load(path)
    if wrap.endswith("."):
        sd = {wrap + k: v for k, v in sd.items()}
    elif wrap != "bare":
        sd = {wrap: sd, "epoch": 3}
    torch.save(sd, tmp_path / "w.pth")
    model = SedModel(**SMALL, pretrained_path=str(tmp_path / "w.pth"))
    said = capsys.readouterr().out
    assert f"pretrained_path {tmp_path / 'w.pth'}: loaded backbone resnet10t (70 of 70 tensors" \
        in said
    own, src = model.backbone.state_dict(), source.state_dict()
    assert torch.equal(own["conv1.0.weight"], src["conv1.0.weight"].sum(1, keepdim=True))
    assert all(torch.equal(own[k], src[k]) for k in own if k != "conv1.0.weight")


def test_weights_that_fill_nothing_stop_naming_file_and_counts(imagenet_like, tmp_path):
    torch.save({}, tmp_path / "empty.pth")
    with pytest.raises(SystemExit, match=r"empty\.pth holds no weights \(found an empty dict\)"):
        SedModel(**SMALL, pretrained_path=str(tmp_path / "empty.pth"))
    # another architecture's weights: the counts and a few missing names, nothing trained
    other = timm.create_model("mobilenetv3_small_100", num_classes=0)
    torch.save({"model": other.state_dict()}, tmp_path / "other.pth")
    with pytest.raises(SystemExit) as err:
        SedModel(**SMALL, pretrained_path=str(tmp_path / "other.pth"))
    message = str(err.value)
    assert "other.pth does not fit backbone resnet10t: it fills 0 of its 70 tensors" in message
    assert re.search(r"missing \(\d+\): conv1\.0\.weight", message) and "\n" not in message


@pytest.mark.parametrize("damage", ["truncated", "text", "empty"])
def test_corrupt_weights_file_stops_with_one_line(imagenet_like, tmp_path, damage):
    data = imagenet_like[0].read_bytes()
    bad = tmp_path / "bad.pth"
    bad.write_bytes({"truncated": data[:len(data) // 2], "text": b"<html>404</html>\n",
                     "empty": b""}[damage])
    with pytest.raises(SystemExit, match=r"pretrained_path \S*bad\.pth: (not a weights file "
                                         r"torch can read|empty file)") as err:
        SedModel(**SMALL, pretrained_path=str(bad))
    assert "\n" not in str(err.value)


def test_own_checkpoint_starts_whole_model_or_backbone(tmp_path, capsys):
    """fold<K>.pt as engine.save_checkpoint writes it (numpy score, classes, config): the whole
    model when every learnt tensor fits, else its backbone part; never random weights."""
    torch.manual_seed(0)
    trained = SedModel(**SMALL)
    torch.save({"model": trained.state_dict(), "score": np.float64(0.5), "epoch": 0,
                "classes": ["s0", "s1", "s2"], "config": {"backbone": "resnet10t"}},
               tmp_path / "fold0.pt")
    again = SedModel(**SMALL, pretrained_path=str(tmp_path / "fold0.pt"))
    assert "loaded the whole model (80 of 80 tensors" in capsys.readouterr().out
    assert same_weights(trained, again)
    more = SedModel(**{**SMALL, "n_classes": 5}, pretrained_path=str(tmp_path / "fold0.pt"))
    assert "the file's prefix 'backbone.' dropped" in capsys.readouterr().out
    assert same_weights(trained.backbone, more.backbone, skip="-")
    with pytest.raises(SystemExit, match="fold0.pt does not fit backbone mobilenetv3_small_100"):
        SedModel(**{**SMALL, "backbone": "mobilenetv3_small_100"},
                 pretrained_path=str(tmp_path / "fold0.pt"))


# --- a tiny trained run: the backbone name, inference and export checks --------------------------

@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[Path, str]:
    """A tiny RFCX run (2 folds x 1 epoch of resnet10t at 8 kHz) and its test submission."""
    work = tmp_path_factory.mktemp("failures_infer")
    path = train_tiny(work, "tinyguard", seed=5, n_train=8)
    import infer

    with cwd(work):
        infer.main([path, "--out", "base.csv"])
    return work, path


def data_copy(work: Path, name: str, edit) -> list[str]:
    """input/<name>: the tiny competition with its sample submission edited by `edit`; the
    overrides that infer from it with the original's audio cache."""
    shutil.copytree(work / "input/tiny", work / "input" / name)
    sample = work / "input" / name / "sample_submission.csv"
    edit(pd.read_csv(sample, dtype=str)).to_csv(sample, index=False)
    cache = next((work / "input/cache").glob("tiny-*"))
    return ["-o", f"data_dir=input/{name}", "-o", f"cache_dir={cache.relative_to(work)}"]


def test_unknown_backbone_stops_before_training(run):
    import train

    work, path = run
    with cwd(work), pytest.raises(SystemExit) as err:
        train.main([str(shutil.copy(path, work / "tinybad.py")), "-o", "backbone=nosuchnet"])
    assert str(err.value).startswith("unknown backbone 'nosuchnet': not a timm model "
                                     "(timm.list_models() lists them)")
    assert not list((work / "models/tinybad").glob("*.pt"))


@pytest.mark.parametrize("override, trained, now", [
    ("sample_rate=16000", "sample_rate=8000", "sample_rate=16000"),
    ("mel_bins=32", "mel_bins=16", "mel_bins=32"),
    ("channels=('logmel','pcen')", "channels=('logmel',)", "channels=('logmel', 'pcen')"),
    ("backbone='resnet18'", "backbone='resnet10t'", "backbone='resnet18'"),
])
def test_infer_with_another_front_end_stops_with_both_values(run, override, trained, now):
    import infer

    work, path = run
    with cwd(work), pytest.raises(SystemExit) as err:
        infer.main([path, "-o", override, "--out", "never.csv"])
    assert str(err.value).startswith(f"models/tinyguard/fold0.pt was trained with {trained}; "
                                     f"this run has {now}: ")
    assert not (work / "never.csv").exists()


def test_export_checks_the_checkpoints_too(run):
    import export

    work, path = run
    with cwd(work), pytest.raises(SystemExit, match="trained with n_fft=256; this run has "
                                                    "n_fft=512"):
        export.main([path, "-o", "n_fft=512"])


def test_reordered_sample_submission_gets_each_class_under_its_header(run):
    import infer

    work, path = run
    reorder = data_copy(work, "tiny_reordered",
                        lambda df: df[["recording_id", "s2", "s0", "s1"]])
    with cwd(work):
        infer.main([path, *reorder, "--out", "reordered.csv"])
    base, got = (pd.read_csv(work / f, dtype={"recording_id": str})
                 for f in ("base.csv", "reordered.csv"))
    assert list(got.columns) == ["recording_id", "s2", "s0", "s1"]
    assert base[["s0", "s1", "s2"]].std().min() > 0  # distinct columns: a swap would show
    pd.testing.assert_frame_equal(got[base.columns], base)
    # the labels follow the names too: species k is still column s<k> for training
    comp = get_competition("rfcx", str(work / "input/tiny_reordered"))
    events = comp.train_events()
    tp = pd.read_csv(work / "input/tiny_reordered/train_tp.csv", dtype=str)
    assert [comp.classes[c] for c in events["cls"]] == [f"s{k}" for k in tp["species_id"]]


def test_class_added_to_sample_submission_stops_naming_it(run):
    import infer

    work, path = run
    added = data_copy(work, "tiny_added", lambda df: df.assign(s3="0"))
    with cwd(work), pytest.raises(SystemExit) as err:
        infer.main([path, *added, "--out", "never.csv"])
    assert str(err.value) == ("models/tinyguard/fold0.pt was trained on 3 classes, the "
                              "competition now has 4: new, never trained: ['s3']: train again "
                              "on the competition's classes (or restore its sample submission)")


def test_submission_columns_are_matched_by_name(run):
    """checked_submission given the predictions' class names (ensemble.py's saved test
    scores) writes each under its own header, and stops on a class it has no scores for."""
    work, _ = run
    comp = get_competition("rfcx", str(work / "input/tiny"))
    ids = comp.sample["recording_id"].tolist()
    scores = np.tile([0.2, 0.0, 0.1], (len(ids), 1))  # columns s2, s0, s1
    sub = checked_submission(comp, ids, scores, "x.csv", classes=["s2", "s0", "s1"])
    assert (sub[["s0", "s1", "s2"]].to_numpy() == [0.0, 0.1, 0.2]).all()
    with pytest.raises(SystemExit, match=r"x\.csv not written: .*new, never trained: \['s1'\]"):
        checked_submission(comp, ids, scores, "x.csv", classes=["s2", "s0", "s9"])


def test_checkpoints_that_match_the_run_load_as_they_are(run):
    """The checks leave the normal path alone: the run's own config and classes load its
    checkpoints as plain models, no class mapping in between."""
    from backends import load_fold_models

    work, path = run
    with cwd(work):
        cfg = load_config(path)
        models = load_fold_models(cfg, ["s0", "s1", "s2"], torch.device("cpu"))
        fresh = build_model(cfg, 3, weights=False)
    assert len(models) == TINY_RUN["n_folds"]
    assert type(models[0]) is type(fresh)
