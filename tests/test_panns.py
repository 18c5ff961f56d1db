"""PANNs models: official checkpoint layout, strict loading with a new head, SED outputs.

The models are ~80M parameters, so each one is built once per module (fixtures) to keep this fast.
"""
import warnings

import pytest
import torch

from panns import PANNS_MODELS, build_panns, load_panns_checkpoint

SR, HOP = 32000, 320
FRONT = dict(sample_rate=SR, n_fft=1024, hop_length=HOP, mel_bins=64, fmin=50, fmax=14000,
             dropout=0.2)


def _bn(prefix: str, n: int) -> dict:
    return {f"{prefix}.weight": (n,), f"{prefix}.bias": (n,), f"{prefix}.running_mean": (n,),
            f"{prefix}.running_var": (n,), f"{prefix}.num_batches_tracked": ()}


def _conv_block(i: int, c_in: int, c_out: int) -> dict:
    p = f"conv_block{i}"
    return {f"{p}.conv1.weight": (c_out, c_in, 3, 3), **_bn(f"{p}.bn1", c_out),
            f"{p}.conv2.weight": (c_out, c_out, 3, 3), **_bn(f"{p}.bn2", c_out)}


# Written from the official architecture (audioset_tagging_cnn, pytorch/models.py), not from ours.
OFFICIAL_TRUNK = {
    "spectrogram_extractor.stft.conv_real.weight": (513, 1, 1024),
    "spectrogram_extractor.stft.conv_imag.weight": (513, 1, 1024),
    "logmel_extractor.melW": (513, 64),
    **_bn("bn0", 64),
    **_conv_block(1, 1, 64), **_conv_block(2, 64, 128), **_conv_block(3, 128, 256),
    **_conv_block(4, 256, 512), **_conv_block(5, 512, 1024), **_conv_block(6, 1024, 2048),
    "fc1.weight": (2048, 2048), "fc1.bias": (2048,),
}
OFFICIAL = {
    "panns_cnn14": {**OFFICIAL_TRUNK, "fc_audioset.weight": (527, 2048), "fc_audioset.bias": (527,)},
    "panns_cnn14_att": {**OFFICIAL_TRUNK,
                        "att_block.att.weight": (527, 2048, 1), "att_block.att.bias": (527,),
                        "att_block.cla.weight": (527, 2048, 1), "att_block.cla.bias": (527,),
                        **_bn("att_block.bn_att", 527)},
}


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory) -> dict:
    """Per model: an official-format file ({"model": state_dict}, 527 classes, distinctive BN
    values), that state dict, and the 527-class model it came from (they share tensors)."""
    out = {}
    for i, name in enumerate(PANNS_MODELS):
        torch.manual_seed(100 + i)
        model = PANNS_MODELS[name](527)
        sd = model.state_dict()
        for k, v in sd.items():
            if k.endswith(("running_mean", "bias")) and not k.startswith("fc"):
                v.uniform_(-0.5, 0.5)
            elif k.endswith(("running_var", "bn0.weight", "bn1.weight", "bn2.weight")):
                v.uniform_(0.5, 1.5)
        path = tmp_path_factory.mktemp("ckpt") / f"{name}.pth"
        torch.save({"model": sd}, path)
        out[name] = (path, sd, model)
    return out


@pytest.fixture(scope="module")
def finetuned(checkpoints) -> dict:
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # same front end as the checkpoint: no mel warning
        return {name: build_panns(name, n_classes=5, pretrained_path=str(path), **FRONT).eval()
                for name, (path, *_) in checkpoints.items()}


@pytest.mark.parametrize("name", list(PANNS_MODELS))
def test_state_dict_matches_official_layout(checkpoints, name):
    sd = checkpoints[name][1]
    assert {k: tuple(v.shape) for k, v in sd.items()} == OFFICIAL[name]


@pytest.mark.parametrize("name", list(PANNS_MODELS))
def test_strict_load_then_new_head_gives_sed_outputs(checkpoints, finetuned, name):
    saved, model = checkpoints[name][1], finetuned[name]
    own = model.state_dict()
    for k, v in saved.items():
        if k.startswith(("conv_block", "bn0", "fc1")):
            assert torch.equal(own[k], v), k
    head = model.fc_audioset if name == "panns_cnn14" else model.att_block.cla
    assert head.weight.shape[0] == 5 and model.n_classes == 5
    assert not head.bias.any() and head.weight.std() > 0  # fresh PANNs init, not leftovers

    torch.manual_seed(1)
    with torch.no_grad():
        out = model(torch.randn(2, SR) * 0.1)
    clip, frame = out["clipwise_output"], out["framewise_output"]
    assert clip.shape == (2, 5) and frame.shape == (2, SR // HOP + 1, 5)
    for t in (clip, frame):
        assert ((t >= 0) & (t <= 1)).all()
    if name == "panns_cnn14_att":  # attention pooling is a convex mix of the frame scores
        assert (clip >= frame.amin(dim=1) - 1e-6).all() and (clip <= frame.amax(dim=1) + 1e-6).all()


def test_other_architecture_checkpoint_is_rejected_naming_the_file(checkpoints):
    path, att_model = checkpoints["panns_cnn14"][0], checkpoints["panns_cnn14_att"][2]
    before = att_model.conv_block1.conv1.weight.clone()
    with pytest.raises(SystemExit, match=path.name) as err:  # one line, no traceback
        load_panns_checkpoint(att_model, path, n_classes=5)
    assert "att_block" in str(err.value) and "fc_audioset" in str(err.value)
    assert torch.equal(att_model.conv_block1.conv1.weight, before)  # nothing half-loaded
    assert att_model.n_classes == 527


def test_checkpoint_with_other_mel_filterbank_warns(checkpoints):
    path = checkpoints["panns_cnn14"][0]
    with pytest.warns(UserWarning, match="mel filterbank"):
        build_panns("panns_cnn14", n_classes=5, pretrained_path=str(path), **{**FRONT, "fmax": 16000})


def test_missing_checkpoint_raises(tmp_path):
    missing = tmp_path / "nope.pth"
    with pytest.raises(FileNotFoundError, match="nope.pth"):
        build_panns("panns_cnn14", n_classes=5, pretrained_path=str(missing), **FRONT)


@pytest.mark.parametrize("name", list(PANNS_MODELS))
def test_bf16_autocast_forward_is_finite_with_fp32_logmel(finetuned, name):
    model, dtypes = finetuned[name], []
    hook = model.logmel_extractor.register_forward_hook(lambda m, i, o: dtypes.append(o.dtype))
    try:
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            out = model(torch.randn(1, SR // 3) * 0.1)  # 34 frames: one CNN step
    finally:
        hook.remove()
    assert dtypes == [torch.float32]
    assert all(torch.isfinite(v).all() for v in out.values())


def test_prefixed_official_file_and_own_checkpoint_load(checkpoints, finetuned, tmp_path, capsys):
    """A DDP-saved official file (`module.` names) loads strictly like the original; this
    project's fold<K>.pt of a PANNs run loads whole (its trained head too) when the classes
    count matches: a starting point, never random weights."""
    _, sd, _ = checkpoints["panns_cnn14"]
    torch.save({"state_dict": {f"module.{k}": v for k, v in sd.items()}}, tmp_path / "ddp.pth")
    model = build_panns("panns_cnn14", n_classes=5, pretrained_path=str(tmp_path / "ddp.pth"),
                        **FRONT)
    assert "the file's prefix 'module.' dropped" in capsys.readouterr().out
    assert torch.equal(model.conv_block6.conv2.weight, sd["conv_block6.conv2.weight"])
    trained = finetuned["panns_cnn14_att"]
    torch.save({"model": trained.state_dict(), "classes": list("abcde"), "config": {}},
               tmp_path / "fold0.pt")
    again = build_panns("panns_cnn14_att", n_classes=5, pretrained_path=str(tmp_path / "fold0.pt"),
                        **FRONT)
    assert "loaded the whole Cnn14DecisionLevelAtt" in capsys.readouterr().out
    for k, v in trained.state_dict().items():
        assert torch.equal(again.state_dict()[k], v), k
