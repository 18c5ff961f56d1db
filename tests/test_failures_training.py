"""No silent wrong result from training (issue 26): a fold that could take no step, an empty
train table, weights that go non-finite and NaN predictions each stop with the reason, and
leave no checkpoint, OOF or score made from them."""
import shutil

import numpy as np
import pandas as pd
import pytest
import torch

import oof
import prepare
import train
from configs import Config
from losses import build_loss
from metrics import METRICS, NonFiniteScores, average_precision
from models import SedModel
from training import FoldRun, FoldTrainer

TINY = dict(sample_rate=8000, n_fft=256, hop_length=128, mel_bins=16, duration=1.0,
            backbone="resnet10t", head_hidden=16, num_workers=0)


@pytest.fixture(scope="module")
def tiny_config(rfcx_tiny, write_config_module):
    """The shared tiny demo (12 recordings, 2 folds: 6 train clips a fold), prepared once."""
    path = write_config_module(rfcx_tiny / "tinyfail.py", data_dir=str(rfcx_tiny / "tiny"),
                               cache_dir=str(rfcx_tiny / "cache"), n_folds=2, crops_per_file=1,
                               epochs=1, batch_size=4, **TINY)
    prepare.main([path])
    return path


def run_train(config: str, *args: str) -> str:
    with pytest.raises(SystemExit) as stop:
        train.main([config, *args])
    return str(stop.value.code)


def test_a_fold_with_fewer_clips_than_a_batch_stops_before_training(tiny_config, tmp_path,
                                                                     monkeypatch):
    """drop_last used to give 0 steps, "loss 0.0000" marked best, and a normal-looking CV."""
    monkeypatch.chdir(tmp_path)
    message = run_train(tiny_config, "-o", "batch_size=8")
    assert message == ("fold0: 6 training clip(s) per epoch (6 recording(s) x crops_per_file 1) "
                       "fill no batch (batch_size 8), so not one step would train: lower "
                       "batch_size, raise crops_per_file, or fewer folds (n_folds 2)")
    assert not list((tmp_path / "models" / "tinyfail").glob("*.pt"))
    assert not (tmp_path / "oof").exists()


def test_an_empty_train_table_stops_train_naming_it(tiny_config, rfcx_tiny, tmp_path,
                                                    monkeypatch, write_config):
    """The folds of an earlier prepare are there; the labels table has only its header."""
    data = tmp_path / "tiny"
    shutil.copytree(rfcx_tiny / "tiny", data)
    table = data / "train_tp.csv"
    table.write_text(table.read_text().splitlines()[0] + "\n")
    config = write_config(tmp_path / "emptytable.py", data_dir=str(data),
                          cache_dir=str(rfcx_tiny / "cache"), n_folds=2, **TINY)
    monkeypatch.chdir(tmp_path)
    message = run_train(config)
    assert message.startswith(f"{table}: no train recordings to train on; ")
    assert "\n" not in message and not (tmp_path / "models").exists()


@pytest.mark.parametrize("crops, where", [
    (2, "at epoch 0 step 1: non-finite model output, gradient norm, which left"),
    (1, "in validation after epoch 0: its model predicts non-finite scores (lwlrap: 18 of 18"),
])
def test_diverging_weights_stop_the_fold_and_write_nothing_from_them(tiny_config, tmp_path,
                                                                     monkeypatch, crops, where):
    """lr=1e30 from the first step (no warm-up, whose first step has lr 0): the first step is
    finite, the next forward pass is NaN. With 3 steps an epoch the step stops the fold; with
    1, validation does, before scoring or keeping anything."""
    monkeypatch.chdir(tmp_path)
    message = run_train(tiny_config, "--fold", "0", "-o", "lr=1e30", "-o", "warmup_epochs=0",
                        "-o", f"crops_per_file={crops}", "-o", "checkpoint_every=1")
    assert message.startswith(f"fold0: training diverged {where}")
    assert "(last finite loss " in message and " at epoch 0 step 0)" in message
    assert message.endswith("lower lr (now 1e+30) or set a smaller grad_clip (now 5.0)")
    out = tmp_path / "models" / "tinyfail"
    assert not (out / "fold0.pt").exists() and not list(out.glob("oof_fold*"))
    state = torch.load(out / "fold0.last.pt", weights_only=False)  # written after step 0
    assert (state["epoch"], state["step"]) == (0, 1)
    assert all(torch.isfinite(v).all() for v in state["model"].values() if v.is_floating_point())


def tiny_trainer() -> FoldTrainer:
    cfg = Config(batch_size=6, epochs=2, lr=1e-3, **{**TINY, "hop_length": 80})
    cfg.name = "skips"
    torch.manual_seed(0)
    model = SedModel(n_classes=3, sample_rate=8000, n_fft=256, hop_length=80, mel_bins=16,
                     fmin=50, backbone="resnet10t", head_hidden=16)
    return FoldTrainer(cfg, model, build_loss("panns"), steps_per_epoch=3,
                       device=torch.device("cpu"), name="fold0")


def batch(seed: int, nan_weight: bool = False) -> dict:
    """Six clips; with `nan_weight` one loss weight is NaN, as a corrupt label row gives."""
    g = torch.Generator().manual_seed(seed)
    weight = torch.ones(6, 3)
    if nan_weight:
        weight[0, 0] = float("nan")
    return {"wave": torch.randn(6, 800, generator=g) * 0.1,
            "target": (torch.rand(6, 3, generator=g) < 0.4).float(), "weight": weight}


def weights(trainer: FoldTrainer) -> dict:
    """The trained parameters (BatchNorm's running statistics move in any forward pass)."""
    return {k: v.detach().clone() for k, v in trainer.model.named_parameters()}


@pytest.mark.parametrize("grad_scaler", [False, True])
def test_a_non_finite_step_is_skipped_and_said_then_three_in_a_row_stop(capsys, grad_scaler):
    """A NaN loss weight gives a NaN loss and gradients after a finite forward pass: the step
    leaves the weights as they were, the fold goes on; three such steps in a row stop it. With
    the GradScaler of fp16 training (CUDA's; the same class on CPU here) as without."""
    trainer = tiny_trainer()
    if grad_scaler:
        trainer.scaler = torch.amp.GradScaler("cpu", enabled=True)
    trainer.train_step(batch(0))
    before = weights(trainer)
    trainer.train_step(batch(1, nan_weight=True))
    checked = "loss" if grad_scaler else "loss, gradient norm"
    assert (f"fold0 epoch 0 step 1: non-finite {checked}; step skipped, weights unchanged (1 in "
            "a row; the fold stops at 3)") in capsys.readouterr().out
    after = weights(trainer)
    assert trainer.step == 2 and all(torch.equal(before[k], after[k]) for k in before)
    trainer.train_step(batch(2))
    assert trainer.bad_steps == 0 and trainer.running["count"] == 12  # the bad batch unscored
    assert np.isfinite(trainer.end_epoch()["loss"])
    trainer.cfg.grad_clip = None  # the gradients' norm is then taken without clipping
    for seed in (3, 4):
        trainer.train_step(batch(seed, nan_weight=True))
    checked = "loss" if grad_scaler else "loss, gradient norm"  # GradScaler owns inf gradients
    with pytest.raises(SystemExit, match=rf"^fold0: training diverged at epoch 1 step 2: "
                                         rf"non-finite {checked} in 3 steps in a row \(last "
                                         rf"finite loss \d\.\d{{4}} at epoch 0 step 2\)"):
        trainer.train_step(batch(5, nan_weight=True))


def test_non_finite_weights_never_reach_a_checkpoint(tmp_path, monkeypatch):
    """Neither the resume state nor the kept model is written from them: the files of the last
    finite weights stay as they were."""
    monkeypatch.chdir(tmp_path)
    trainer = tiny_trainer()
    comp = type("Comp", (), {"classes": ["a", "b", "c"], "metric": "lwlrap"})()
    valid = pd.DataFrame({"id": ["v"], "labels": [[0]], "fold": [0]})
    run = FoldRun(trainer.cfg, comp, 0, 0, valid, trainer, torch.device("cpu"), ["t"])
    trainer.train_step(batch(0))
    trainer.save(run.state_path)
    trainer.epoch = 1
    run.keep({"lwlrap": 0.5}, np.full((1, 3), 0.5), [np.full((1, 3), 0.5)])
    files = {p: p.read_bytes() for p in (run.state_path, run.out / "fold0.pt")}
    with torch.no_grad():
        trainer.model.head.fc.weight[0, 0] = float("inf")
    with pytest.raises(SystemExit, match=r"^fold0: training diverged at epoch 1 step 1: 1 "
                                         r"non-finite weight value\(s\) \(last finite loss"):
        trainer.save(run.state_path)
    with pytest.raises(SystemExit, match="diverged after epoch 0: 1 non-finite weight value"):
        run.keep({"lwlrap": 0.5}, np.full((1, 3), 0.5), [np.full((1, 3), 0.5)])
    assert all(p.read_bytes() == data for p, data in files.items())


@pytest.mark.parametrize("name", sorted(METRICS))
def test_every_metric_refuses_nan_and_inf_scores(name):
    y = np.eye(3)[[0, 1, 2, 0]]
    scores = np.full((4, 3), 0.2)
    scores[1, 2] = np.nan
    scores[3, 0] = np.inf
    with pytest.raises(NonFiniteScores, match=f"^{name}: 2 of 12 scores are NaN or inf$"):
        METRICS[name](y, scores)
    with pytest.raises(NonFiniteScores):
        average_precision(y[:, 0], scores[:, 0])


def test_nan_oof_parts_are_neither_saved_nor_merged(tmp_path, monkeypatch):
    """A fold's OOF part with NaN is not written; one left by an older run is not scored."""
    monkeypatch.chdir(tmp_path)
    cfg = Config(n_folds=1)
    cfg.name = "nanoof"
    preds = np.full((2, 3), np.nan, dtype=np.float32)
    rows = [np.zeros((1, 3)), np.zeros((1, 3))]
    with pytest.raises(SystemExit, match=r"^nanoof fold0: 6 of 6 OOF predictions are NaN or "
                                         r"inf; models/nanoof/oof_fold0.npz is not written$"):
        oof.save_fold_part(cfg, 0, ["a", "b"], preds, rows)
    assert not (tmp_path / "models" / "nanoof" / "oof_fold0.npz").exists()
    (tmp_path / "models" / "nanoof").mkdir(parents=True)
    np.savez("models/nanoof/oof_fold0.npz", ids=np.array(["a", "b"]), preds=preds,
             rows=np.zeros((2, 3), np.float32), row_counts=np.array([1, 1]))
    with pytest.raises(SystemExit, match=r"^models/nanoof/oof_fold0.npz: 6 of 12 OOF "
                                         r"predictions of nanoof fold0 are NaN or inf; no CV"):
        oof.merge_folds(cfg, None, None)
    assert not (tmp_path / "oof").exists()


def test_nan_test_scores_are_not_saved(tmp_path):
    scores = np.array([[0.1, np.inf], [0.2, 0.3]])
    with pytest.raises(SystemExit, match=r"^expn: 1 of 4 test scores are NaN or inf; "):
        oof.save_test("expn", ["r0", "r1"], ["a", "b"], scores, ["r0", "r1"], np.zeros(2),
                      out_dir=tmp_path)
    assert not list(tmp_path.iterdir())


def test_score_refuses_an_all_nan_oof(tiny_config, tmp_path, monkeypatch):
    """The OOF of a run diverged before this fix: NaN everywhere, CV 0.49 in its JSON."""
    import score

    monkeypatch.chdir(tmp_path)
    ids = [f"r{i}" for i in range(4)]
    oof.Oof("tinyfail", "rfcx", {}, "lwlrap", ["s0", "s1", "s2"], ids, np.arange(4) % 2,
            np.eye(3)[[0, 1, 2, 0]], np.full((4, 3), 0.5), 0.49, {}).save()
    np.save("oof/tinyfail.npy", np.full((4, 3), np.nan, dtype=np.float32))
    with pytest.raises(SystemExit, match=r"^oof/tinyfail.npy: 12 of 12 OOF predictions of "
                                         r"tinyfail are NaN or inf; no metric is computed over "
                                         r"them: train the experiment again$"):
        score.main([tiny_config])
