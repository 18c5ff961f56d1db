import pytest
import torch

from configs import Config
from models import SedModel
from training import FoldTrainer, Mixup, warmup_schedule

TINY = dict(sample_rate=8000, n_fft=256, hop_length=80, mel_bins=16, fmin=50,
            backbone="resnet10t", head_hidden=16)


def make_batch(n=6, classes=3, frames=11, seed=0):
    g = torch.Generator().manual_seed(seed)
    target = (torch.rand(n, classes, generator=g) < 0.4).float()
    return {"wave": torch.randn(n, 800, generator=g) * 0.1, "target": target,
            "weight": torch.ones(n, classes),
            "frame_target": target[:, None].expand(-1, frames, -1).clone()}


def test_mixup_mixes_inputs_and_targets_consistently():
    torch.manual_seed(0)
    batch = make_batch()
    batch["wave"] = torch.eye(6, 800)  # example i is a spike at sample i: the mix is readable
    out, extra = Mixup(alpha=1.0, on="wave", labels="mix")(batch)
    assert extra == {} and not torch.equal(out["wave"], batch["wave"])
    for i, w in enumerate(out["wave"]):
        others = w.clone()
        others[i] = 0
        j = int(others.argmax()) if others.max() > 0 else i
        lam = float(w[i]) if j != i else 1.0
        assert torch.allclose(w[:6], lam * batch["wave"][i, :6] + (1 - lam) * batch["wave"][j, :6])
        expected = lam * batch["target"][i] + (1 - lam) * batch["target"][j]
        assert torch.allclose(out["target"][i], expected, atol=1e-6)


def test_mixup_union_and_logmel():
    torch.manual_seed(1)
    batch = make_batch()
    out, extra = Mixup(alpha=1.0, on="logmel", labels="union")(batch)
    perm, lam = extra["mixup"]
    assert torch.equal(out["wave"], batch["wave"])  # mixed later, inside the model
    expected = torch.maximum(batch["target"], batch["target"][perm])
    assert torch.equal(out["target"], expected)
    model = SedModel(n_classes=3, **TINY).eval()
    with torch.no_grad():
        assert not torch.allclose(model(batch["wave"])["clipwise_output"],
                                  model(batch["wave"], mixup=(perm, lam))["clipwise_output"])


def test_mixup_keeps_a_class_out_of_the_loss_if_either_partner_has_it_out():
    """Weight 0 marks a secondary label (maybe present, unknown): a mix holds both clips'
    audio, so that class is unknown in the mix whichever partner it came from."""
    torch.manual_seed(0)
    batch = make_batch()
    batch["weight"] = torch.tensor([[1, 0, 1], [1, 1, 1], [0, 1, 1],
                                    [1, 1, 1], [1, 1, 0], [1, 1, 1]], dtype=torch.float32)
    out, extra = Mixup(alpha=1.0, on="logmel")(batch)
    perm = extra["mixup"][0].tolist()
    rows = batch["weight"].tolist()
    assert any(rows[i] != rows[j] for i, j in enumerate(perm))  # some partner differs
    for i, j in enumerate(perm):
        assert out["weight"][i].tolist() == [0.0 if 0 in (a, b) else 1.0
                                             for a, b in zip(rows[i], rows[j])]


def test_spec_augment_only_in_training():
    torch.manual_seed(0)
    model = SedModel(n_classes=3, spec_augment=dict(time_drop_width=8, time_stripes_num=2,
                                                    freq_drop_width=4, freq_stripes_num=2),
                     dropout=0.0, **TINY)
    x = torch.randn(2, 8000) * 0.1
    model.eval()
    with torch.no_grad():
        a, b = model(x)["clipwise_output"], model(x)["clipwise_output"]
    assert torch.equal(a, b)
    seen = []  # torchlibrosa drops stripes in place: keep a copy of the input
    model.spec_augment.register_forward_pre_hook(lambda m, i: seen.append(i[0].clone()))
    model.spec_augment.register_forward_hook(lambda m, i, o: seen.append(o))
    model.train()
    model(x)
    x_in, x_out = seen
    assert (x_out == 0).sum() > (x_in == 0).sum()  # stripes zeroed


@pytest.mark.parametrize("pooling", ["attention", "max", "mean", "linear_softmax"])
def test_poolings_keep_clip_within_frames(pooling):
    model = SedModel(n_classes=4, pooling=pooling, **TINY).eval()
    with torch.no_grad():
        out = model(torch.randn(2, 8000) * 0.1)
    clip, frame = out["clipwise_output"], out["framewise_output"]
    assert torch.all(clip <= frame.max(1).values + 1e-6)
    assert torch.all(clip >= frame.min(1).values - 1e-6)
    if pooling == "max":
        assert torch.allclose(clip, frame.max(1).values)


def test_bf16_autocast_keeps_logmel_fp32_and_outputs_finite():
    model = SedModel(n_classes=3, **TINY).eval()
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        feats = model.features(torch.randn(2, 8000))
        out = model(torch.zeros(2, 8000))
    assert feats.dtype == torch.float32
    assert torch.isfinite(out["clipwise_output"].float()).all()


def test_warmup_then_decay():
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
    for decay in ("cosine", "linear"):
        sched = warmup_schedule(opt, warmup_steps=4, total_steps=20, decay=decay)
        lrs = []
        for _ in range(20):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        assert lrs[:5] == pytest.approx([0.0, 0.25, 0.5, 0.75, 1.0])  # transformers' warm-up
        assert lrs[-1] < 0.1
        assert all(a >= b for a, b in zip(lrs[4:], lrs[5:]))
        opt.param_groups[0]["lr"] = 1.0
        opt.param_groups[0].pop("initial_lr")


def trainer_for(**fields):
    cfg = Config(batch_size=6, epochs=2, lr=1e-3, **fields)
    torch.manual_seed(0)
    model = SedModel(n_classes=3, **TINY)
    from losses import build_loss
    return FoldTrainer(cfg, model, build_loss("panns"), steps_per_epoch=3,
                       device=torch.device("cpu"))


def test_ema_and_average_of_last_epochs():
    trainer = trainer_for(ema=0.5, average_last=2)
    start = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    for epoch in range(2):
        for step in range(3):
            trainer.train_step(make_batch(seed=epoch * 3 + step))
        trainer.end_epoch()
    key = "head.fc.weight"
    live, ema = trainer.model.state_dict()[key], trainer.eval_model.state_dict()[key]
    assert not torch.equal(live, ema) and not torch.equal(ema, start[key])
    assert len(trainer.recent) == 2
    assert torch.allclose(trainer.averaged_weights()[key],
                          (trainer.recent[0][key] + trainer.recent[1][key]) / 2)


class ScriptedTrainer:
    """What FoldRun reads of a FoldTrainer: the epoch counter, the best score so far, the log,
    the weights to keep and the resumable state."""

    def __init__(self) -> None:
        self.epoch, self.best, self.log, self.recent = 0, float("-inf"), [], []
        self.eval_model = torch.nn.Linear(2, 2)

    def end_epoch(self) -> dict:
        self.epoch += 1
        return {"loss": 1.0 / self.epoch}

    def save(self, path) -> None:
        pass

    def check_weights(self, at=None) -> None:
        from training import nonfinite_weights

        assert nonfinite_weights(self.eval_model) == 0


@pytest.mark.parametrize("keep, kept_epoch", [("best", 1), ("last", 2)])
def test_keep_picks_the_best_validated_epoch_or_the_last(keep, kept_epoch, tmp_path, monkeypatch):
    import numpy as np
    import pandas as pd

    import training

    monkeypatch.chdir(tmp_path)
    lwlrap = iter([0.5, 0.7, 0.6])  # epoch 1 is the best; epoch 2 the last
    monkeypatch.setattr(training, "validate", lambda cfg, comp, model, valid, y, device: (
        {"lwlrap": next(lwlrap)}, np.zeros((1, 2)), [np.zeros((1, 2))]))
    cfg = Config(epochs=3, keep=keep, metric="lwlrap")
    cfg.name = "keeper"
    comp = type("Comp", (), {"classes": ["a", "b"], "metric": "lwlrap"})()
    valid = pd.DataFrame({"id": ["v"], "labels": [[0]], "fold": [0]})
    run = training.FoldRun(cfg, comp, 0, 0, valid, ScriptedTrainer(), torch.device("cpu"), ["t"])
    for _ in range(cfg.epochs):
        run.end_epoch()
    saved = torch.load(tmp_path / "models" / "keeper" / "fold0.pt", weights_only=False)
    assert saved["epoch"] == kept_epoch and saved["trained_on"] == ["t"]
    assert [row["lwlrap"] for row in run.trainer.log] == [0.5, 0.7, 0.6]


def test_config_rules_linking_fields_stop_a_run_when_it_loads():
    from configs import ConfigError, load_config

    for override, why in [({"keep": "first"}, "keep 'first'"),
                          ({"distill_audio": "valid"}, "distill_weight"),
                          ({"backbone": "birdnet", "full_fit": True}, "no full fit"),
                          ({"negative_audio": "x", "distill_weight": 1.0}, "negative_audio"),
                          ({"pseudo_labels": "x.npz", "distill_weight": 1.0}, "pseudo_labels"),
                          ({"freeze_epochs": 50}, "more than epochs"),
                          ({"layer_decay": 0.0}, "layer_decay"),
                          ({"quiet_negatives": 1.0}, "quiet_negatives"),
                          ({"backbone": "panns_cnn14", "layer_decay": 0.8}, "trunk"),
                          ({"scheduler": "reduce_lr_on_plateau"}, "scheduler")]:
        with pytest.raises(ConfigError, match=why):
            load_config("exp001", override)
    with pytest.raises(ConfigError, match="only weak labels"):  # RFCX's events may lie in it
        load_config("exp001", {"quiet_negatives": 0.1})
    # quiet negatives are no-call crops too, so backgrounds may be borrowed from them
    no_call = {"mix_p": 0.5, "mix_from": "no_call"}
    assert load_config("bird", {"quiet_negatives": 0.1, "batch_augment": no_call}
                       ).quiet_negatives == 0.1
