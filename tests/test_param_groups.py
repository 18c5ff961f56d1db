"""Layer-wise learning-rate decay and the frozen trunk (param_groups.py) on a timm CNN and on
transformers encoders."""
import pytest
import torch

from configs import Config
from hf import build_encoder, HfSedModel
from losses import build_loss
from models import SedModel
from param_groups import optimizer_groups, trunk_layers
from training import FoldTrainer

TINY = dict(sample_rate=8000, n_fft=256, hop_length=80, mel_bins=16, fmin=50,
            backbone="mobilenetv3_small_100", head_hidden=16)
TINY_HF = dict(hidden_size=16, num_hidden_layers=3, num_attention_heads=2, intermediate_size=32)


def hubert() -> HfSedModel:
    encoder = build_encoder("hf_hubert", None, dict(TINY_HF, conv_dim=(8, 8), conv_kernel=(10, 3),
                                                    conv_stride=(5, 2), num_conv_pos_embeddings=4,
                                                    num_conv_pos_embedding_groups=2))
    return HfSedModel("hf_hubert", encoder, 3, 160, 16, 0.1)


def check_groups(model, layers: int) -> None:
    groups = optimizer_groups(model, 1e-3, 0.5)
    lrs = [g["lr"] for g in groups]
    assert len(groups) == layers + 1  # the trunk's layers, then the rest
    assert lrs == pytest.approx([1e-3 * 0.5 ** (layers - k) for k in range(layers)] + [1e-3])
    ids = [id(p) for g in groups for p in g["params"]]
    assert sorted(ids) == sorted(id(p) for p in model.parameters())  # each exactly once
    head = {id(p) for p in model.head.parameters()}
    assert head <= {id(p) for p in groups[-1]["params"]}


def test_layer_decay_groups_a_timm_trunk_by_its_own_blocks():
    model = SedModel(n_classes=3, **TINY)
    layers = trunk_layers(model.trunk)
    assert len(layers) > 10  # stem, each block, the head conv: not one lump
    check_groups(model, len(layers))
    first = trunk_layers(model.trunk)[0]
    assert model.backbone.conv_stem.weight in first  # the stem is the bottom, slowest group


def test_layer_decay_groups_a_transformers_encoder_by_layer():
    model = hubert()
    layers = trunk_layers(model.trunk)
    # the conv feature encoder and projection, 3 transformer layers
    assert len(layers) == 1 + TINY_HF["num_hidden_layers"]
    layer2 = {id(p) for p in model.encoder.encoder.layers[2].parameters()}
    assert {id(p) for p in layers[3]} == layer2
    check_groups(model, len(layers))


def test_no_layer_decay_keeps_one_group():
    model = SedModel(n_classes=3, **TINY)
    assert [id(p) for p in optimizer_groups(model, 1e-3, None)] == [
        id(p) for p in model.parameters()]


def batch(seed: int) -> dict:
    g = torch.Generator().manual_seed(seed)
    target = (torch.rand(4, 3, generator=g) < 0.4).float()
    return {"wave": torch.randn(4, 1600, generator=g) * 0.1, "target": target,
            "weight": torch.ones(4, 3)}


def test_frozen_trunk_is_left_untouched_then_trains():
    cfg = Config(batch_size=4, epochs=2, lr=1e-2, warmup_epochs=0, freeze_epochs=1,
                 layer_decay=0.8)
    torch.manual_seed(0)
    trainer = FoldTrainer(cfg, SedModel(n_classes=3, **TINY), build_loss("panns"),
                          steps_per_epoch=2, device=torch.device("cpu"))
    trunk, head = trainer.model.trunk, trainer.model.head
    start = {k: v.clone() for k, v in trunk.state_dict().items()}  # BatchNorm statistics too
    head_start = head.fc.weight.detach().clone()
    for step in range(2):
        trainer.train_step(batch(step))
    assert all(torch.equal(v, start[k]) for k, v in trunk.state_dict().items())
    assert not torch.equal(head.fc.weight, head_start)
    trainer.end_epoch()
    for step in range(2):
        trainer.train_step(batch(2 + step))
    assert not torch.equal(trunk.conv_stem.weight, start["conv_stem.weight"])
    assert all(p.requires_grad for p in trunk.parameters())
