import numpy as np
import pytest
import timm
import torch

from models import Features, SedModel, create_backbone

TINY = dict(sample_rate=16000, n_fft=512, hop_length=160, mel_bins=32, fmin=50,
            backbone="resnet10t", head_hidden=32)


def test_output_shapes_and_framewise_clipwise_consistency():
    torch.manual_seed(0)
    model = SedModel(n_classes=5, **TINY).eval()
    with torch.no_grad():
        out = model(torch.randn(3, 16000) * 0.1)
    clip, frame = out["clipwise_output"], out["framewise_output"]
    assert clip.shape == (3, 5)
    assert frame.shape == (3, 16000 // 160 + 1, 5)  # one frame per STFT hop
    # the clip score is an attention-weighted mean of frame scores: inside their range
    assert torch.all(clip <= frame.max(dim=1).values + 1e-6)
    assert torch.all(clip >= frame.min(dim=1).values - 1e-6)
    assert torch.all((frame >= 0) & (frame <= 1))


def test_three_channel_input_and_silence_are_finite():
    model = SedModel(n_classes=2, channels=("logmel", "pcen", "power", "denoised", "gated"),
                     **TINY).eval()
    with torch.no_grad():
        out = model(torch.zeros(2, 8000))  # exact digital silence
    assert torch.isfinite(out["clipwise_output"]).all()


def test_denoised_channel_removes_the_steady_background_and_keeps_the_call():
    from models import Features
    sr = 16000
    t = torch.arange(2 * sr) / sr
    hum = 0.3 * torch.sin(2 * torch.pi * 1000 * t)  # steady all clip long
    call = torch.where((t > 0.8) & (t < 1.0), 0.3 * torch.sin(2 * torch.pi * 4000 * t), 0 * t)
    feats = Features(sr, 512, 160, 32, 50, None, ("logmel", "denoised", "gated"))
    logmel, denoised, gated = feats((hum + call)[None])[0]
    hum_bin = logmel.mean(0).argmax()  # the steady tone's mel bin: loud in log-mel only
    assert logmel[:, hum_bin].min() > logmel.median() + 20
    assert denoised[2:-2, hum_bin].abs().max() < 1.0  # (edge frames see the padding)
    call_frames = slice(int(0.85 * sr / 160), int(0.95 * sr / 160))
    assert denoised[call_frames].max() > 30  # the call stands far above its bin's median
    # gated: everything but the call is exact zero; the call keeps its height less the gate
    before = gated[2:int(0.7 * sr / 160)]
    assert gated[2:-2, hum_bin].max() == 0 and (before == 0).float().mean() > 0.95
    assert torch.allclose(gated[call_frames].max(), denoised[call_frames].max() - 6.0)


def quiet_then_burst(sr: int = 16000) -> torch.Tensor:
    """1 s (101 frames at hop 160, an odd number): faint noise with a loud 2-kHz tone at
    0.4-0.6 s, so a channel's level changes fast and its median is far from its mean."""
    t = torch.arange(sr) / sr
    noise = 1e-3 * torch.randn(sr, generator=torch.Generator().manual_seed(0))
    return noise + torch.where((t >= 0.4) & (t < 0.6), 0.5 * torch.sin(2 * torch.pi * 2000 * t),
                               0 * t)


def test_pcen_channel_matches_a_numpy_pcen_of_the_mel_power():
    """PCEN (Wang et al. 2017) by hand from the same mel power: smoother M[t] = sum_j w_j E[t-j]
    with w_j = s (1 - s)^j over j < 4 / s, normalised, and E before the first frame = E[0]; then
    (E / (1e-6 + M)^0.98 + 2)^0.5 - 2^0.5 with E = power * 2^31 and s = 0.025."""
    feats = Features(16000, 512, 160, 32, 50, None, ("pcen",))
    wave = quiet_then_burst()[None]
    with torch.no_grad():
        power = feats.mel(feats.spectrogram(wave))[0, 0].double().numpy()  # (frames, mels)
        pcen = feats(wave)[0, 0].double().numpy()
    e = power * 2.0**31
    s, taps = 0.025, 160
    w = s * (1 - s) ** np.arange(taps)
    w /= w.sum()
    padded = np.concatenate([np.repeat(e[:1], taps - 1, axis=0), e])
    m = sum(w[j] * padded[taps - 1 - j:taps - 1 - j + len(e)] for j in range(taps))
    expected = (e / (1e-6 + m) ** 0.98 + 2) ** 0.5 - 2**0.5
    assert pcen.shape == expected.shape == (101, 32)
    assert expected.max() > 10 * np.median(expected)  # the onset stands out: a real check
    assert np.allclose(pcen, expected, rtol=1e-3, atol=1e-4)


def test_denoised_channel_is_log_mel_less_each_bins_median_over_time():
    """Denoised = dB minus each mel bin's median over the clip's frames (the middle one of an
    odd count), by numpy; on a short loud call the mean would sit far from the median. Gated
    is that less 6 dB, floored at 0."""
    feats = Features(16000, 512, 160, 32, 50, None, ("denoised", "gated"))
    wave = quiet_then_burst()[None]
    with torch.no_grad():
        power = feats.mel(feats.spectrogram(wave))[0, 0].double().numpy()
        denoised, gated = feats(wave)[0].double().numpy()
    db = 10 * np.log10(np.maximum(power, 1e-10))
    expected = db - np.median(db, axis=0)
    assert len(db) % 2 == 1 and np.abs(db.mean(0) - np.median(db, 0)).max() > 10
    assert np.allclose(denoised, expected, atol=1e-3)
    assert np.allclose(gated, np.maximum(expected - 6.0, 0), atol=1e-3)


def test_local_pretrained_file_is_loaded_and_missing_weights_raise(tmp_path):
    source = timm.create_model("resnet10t", pretrained=False, num_classes=0, in_chans=1)
    torch.save(source.state_dict(), tmp_path / "weights.pth")
    loaded = create_backbone("resnet10t", 1, pretrained_path=str(tmp_path / "weights.pth"))
    for (name, a), b in zip(source.state_dict().items(), loaded.state_dict().values()):
        assert torch.equal(a, b), name
    with pytest.raises(FileNotFoundError):
        create_backbone("resnet10t", 1, pretrained_path=str(tmp_path / "missing.pth"))


def test_pretrained_that_cannot_be_had_raises(monkeypatch):
    real = timm.create_model

    def offline(*args, pretrained=False, **kwargs):
        if pretrained:
            raise OSError("no internet")
        return real(*args, **kwargs)
    monkeypatch.setattr(timm, "create_model", offline)
    with pytest.raises(RuntimeError, match="pretrained_path"):
        create_backbone("resnet10t", 1, pretrained=True)


def test_bn0_gradients_with_one_channel():
    """bn0's bias gradient is the sum of its output's gradient (torch's CPU BatchNorm2d on the
    channels-last-like `transpose(1, 3)` of a one-channel log-mel got it wrong)."""
    torch.manual_seed(0)
    model = SedModel(n_classes=3, sample_rate=8000, n_fft=256, hop_length=80, mel_bins=16,
                     backbone="resnet10t", head_hidden=16, dropout=0.0)
    seen = {}

    def keep_output_grad(module, inputs, out):
        out.register_hook(lambda g: seen.setdefault("grad", g))

    model.bn0.register_forward_hook(keep_output_grad)
    model(torch.randn(4, 8000) * 0.1)["clipwise_output"].sum().backward()
    assert torch.allclose(model.bn0.bias.grad, seen["grad"].sum((0, 2)), atol=1e-5)


@pytest.mark.parametrize("name, convs", [("cnn6", 4), ("cnn10", 8)])
def test_small_panns_trunks_as_backbones(name, convs):
    backbone = create_backbone(name, in_chans=2)
    assert sum(isinstance(m, torch.nn.Conv2d) for m in backbone.modules()) == convs
    assert backbone.forward_features(torch.randn(2, 2, 32, 64)).shape == (2, 512, 2, 4)
    model = SedModel(n_classes=4, **{**TINY, "backbone": name}).eval()
    with torch.no_grad():
        assert model(torch.randn(2, 16000) * 0.1)["framewise_output"].shape == (2, 101, 4)
    with pytest.raises(RuntimeError, match="from scratch"):
        create_backbone(name, 1, pretrained=True)


def test_flatten_keeps_the_frequency_axis_for_the_head():
    torch.manual_seed(0)
    spec = {**TINY, "mel_bins": 64}
    mean = SedModel(n_classes=3, **spec)
    flat = SedModel(n_classes=3, **spec, freq_pool="flatten")
    height = flat.backbone.forward_features(torch.zeros(2, 1, 64, 64)).shape[2]
    assert height > 1
    assert flat.head.fc.in_features == mean.head.fc.in_features * height
    flat.eval()
    low, high = torch.zeros(1, 1, 101, 64), torch.zeros(1, 1, 101, 64)
    low[..., :16], high[..., -16:] = 30.0, 30.0  # energy in the lowest / highest mel bins
    with torch.no_grad():
        out = flat.from_front_end(torch.cat([low, high]))
    assert out["framewise_output"].shape == (2, 101, 3)
    assert not torch.allclose(out["clipwise_output"][0], out["clipwise_output"][1])
